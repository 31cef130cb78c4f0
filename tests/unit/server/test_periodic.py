"""The service's periodic background threads (SQLite checkpoints, the retention sweep)."""

from __future__ import annotations

import threading
import time

import pytest

from groomwatch.server.app import _Periodic


class _Counter(_Periodic):
    name = "counter"

    def __init__(self, *, immediately: bool, fail_first: bool = False) -> None:
        super().__init__(0.01, immediately=immediately)
        self.calls = 0
        self.fail_first = fail_first
        self.twice = threading.Event()

    def tick(self) -> None:
        self.calls += 1
        if self.calls >= 2:
            self.twice.set()
        if self.fail_first and self.calls == 1:
            raise RuntimeError("boom")


@pytest.mark.parametrize("immediately", [True, False])
def test_ticks_until_stopped(immediately: bool) -> None:
    job = _Counter(immediately=immediately)
    job.start()
    assert job.twice.wait(5)
    job.stop()
    stopped_at = job.calls
    time.sleep(0.05)
    assert job.calls == stopped_at  # no tick after stop()


def test_a_failing_tick_is_logged_and_the_next_one_runs(caplog: pytest.LogCaptureFixture) -> None:
    job = _Counter(immediately=True, fail_first=True)
    with caplog.at_level("WARNING", logger="groomwatch"):
        job.start()
        assert job.twice.wait(5)
        job.stop()
    assert any("counter failed" in r.getMessage() for r in caplog.records)


def test_stop_before_the_first_tick_when_not_immediate() -> None:
    job = _Counter(immediately=False)
    job.period = 60.0
    job.start()
    job.stop()
    assert job.calls == 0
