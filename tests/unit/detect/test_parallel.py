"""Scanning with several worker processes gives the single process's assessments, in order."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from groomwatch.cli import main
from groomwatch.conversation import Conversation, Message
from groomwatch.detect import AlertPolicy, Detector, parallel
from groomwatch.detect.parallel import assess_parallel
from groomwatch.errors import InputError


def _many(synthetic: list[Conversation]) -> list[Conversation]:
    """The synthetic fixtures several times over under new ids, with chat filler between."""
    out: list[Conversation] = []
    for k in range(6):
        for conv in synthetic:
            out.append(
                Conversation(
                    id=f"{conv.id}-{k}", messages=conv.messages, participants=conv.participants
                )
            )
            filler = tuple(Message(text=f"see you at practice {i}", author="p") for i in range(k))
            out.append(Conversation(id=f"filler-{conv.id}-{k}", messages=filler))
    return out


def test_parallel_equals_one_process(detector: Detector, synthetic: list[Conversation]) -> None:
    convs = _many(synthetic)
    policy = AlertPolicy(0.3, window=2)
    expected = list(detector.assess_many(convs, policy))
    # small chunks: many chunks per worker, results from both workers interleave
    got = list(assess_parallel(convs, policy=policy, workers=2, chunk_messages=7))
    assert [a.id for a in got] == [c.id for c in convs]
    assert got == expected
    assert any(a.findings for a in got)
    assert any(a.first_alert is not None for a in got)


@pytest.mark.parametrize("kind", ["tuple", "iterator"])
def test_inherited_and_packed_inputs_give_the_same(
    detector: Detector,
    synthetic: list[Conversation],
    kind: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A list or tuple is read by the forked workers by index; any other iterable is packed
    and sent: both give the single process's assessments (the list is tested above)."""
    convs = _many(synthetic)
    expected = list(detector.assess_many(convs))
    given = tuple(convs) if kind == "tuple" else iter(convs)
    used: list[int] = []
    ranges = parallel._ranges

    def counted(convs: Sequence[Conversation], size: int) -> Iterator[tuple[int, int]]:
        used.append(size)
        return ranges(convs, size)

    monkeypatch.setattr(parallel, "_ranges", counted)
    assert list(assess_parallel(given, workers=2, chunk_messages=11)) == expected
    assert not parallel._INHERITED  # the parent holds no reference once the workers run
    forked = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    assert used == ([11] if kind == "tuple" and forked else [])


def test_ranges_cover_the_input_in_chunks() -> None:
    convs = [Conversation(id=str(i), messages=(Message(text="x"),) * (i % 4)) for i in range(10)]
    ranges = list(parallel._ranges(convs, 3))
    assert [i for s, e in ranges for i in range(s, e)] == list(range(10))
    assert all(sum(len(convs[i].messages) for i in range(s, e)) >= 3 for s, e in ranges[:-1])
    assert list(parallel._ranges([], 3)) == []


def test_one_worker_runs_in_process(detector: Detector, synthetic: list[Conversation]) -> None:
    assert list(assess_parallel(synthetic, workers=1)) == list(detector.assess_many(synthetic))


def test_bad_worker_counts_are_refused(synthetic: list[Conversation]) -> None:
    for bad in (0, -1):
        with pytest.raises(InputError, match="workers"):
            assess_parallel(synthetic, workers=bad)
    with pytest.raises(InputError, match="chunk"):
        assess_parallel(synthetic, workers=2, chunk_messages=0)


def _run(argv: list[str]) -> int:
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_scan_with_workers_writes_what_one_process_writes(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    src = fixtures_dir / "detect" / "conversations.jsonl"
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert _run(["scan", str(src), "-o", str(one), "--workers", "1"]) == 0
    assert _run(["scan", str(src), "-o", str(two), "--workers", "2"]) == 0
    rows = [json.loads(x) for x in two.read_text(encoding="utf-8").splitlines()]
    assert len(rows) > 1
    assert one.read_text(encoding="utf-8") == two.read_text(encoding="utf-8")
    assert _run(["scan", str(src), "-o", str(two), "--workers", "0"]) == 2


class _FakeFuture:
    """A stand-in future for the scheduling helper alone (the real pools are tested above)."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def test_in_order_keeps_order_bounds_what_is_in_flight_and_cancels_on_close() -> None:
    from groomwatch.detect.parallel import in_order

    submitted: list[_FakeFuture] = []

    def submit(i: int) -> _FakeFuture:
        submitted.append(_FakeFuture(i))
        return submitted[-1]

    gen = in_order(iter(range(10)), submit, 3)
    first = next(gen)
    assert first.value == 0
    assert len(submitted) == 3  # never more than the limit ahead of what was taken
    assert [next(gen).value for _ in range(4)] == [1, 2, 3, 4]
    assert len(submitted) == 7
    gen.close()
    assert [f.cancelled for f in submitted] == [False] * 5 + [True, True]
    assert [f.value for f in in_order(iter(range(5)), submit, 2)] == [0, 1, 2, 3, 4]
