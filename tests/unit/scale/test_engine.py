"""The dask batch engine on a real LocalCluster (worker processes): same results as the local
engine, in input order, with a bounded number of batches in flight."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from groomwatch.conversation import Conversation, Message
from groomwatch.errors import InputError
from groomwatch.formats import read_conversations

distributed = pytest.importorskip("distributed")
detect = pytest.importorskip("groomwatch.detect")

from groomwatch.scale import scan_with_dask  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=logging.ERROR,
    ) as c:
        yield c


@pytest.fixture(scope="module")
def conversations() -> list[Conversation]:
    convs = list(read_conversations(EXAMPLES))
    # Repeat the examples with new ids so there are several batches per worker.
    return [
        Conversation(
            id=f"{c.id}-{i}",
            messages=c.messages,
            participants=c.participants,
            platform=c.platform,
            label=c.label,
        )
        for i in range(4)
        for c in convs
    ]


def _local(convs: list[Conversation]) -> list[dict[str, Any]]:
    detector = detect.Detector.load()
    return [a.to_dict() for a in detector.assess_many(convs)]


def test_same_results_in_input_order_as_the_local_engine(
    cluster: Any, conversations: list[Conversation]
) -> None:
    got = [
        a.to_dict()
        for a in scan_with_dask(
            conversations, scheduler=cluster.scheduler_address, batch_size=3, max_in_flight=2
        )
    ]
    assert [d["id"] for d in got] == [c.id for c in conversations]
    assert got == _local(conversations)


def test_policy_is_applied_on_the_workers(cluster: Any, conversations: list[Conversation]) -> None:
    policy = detect.AlertPolicy(threshold=0.0)
    got = list(
        scan_with_dask(conversations[:5], scheduler=cluster.scheduler_address, policy=policy)
    )
    assert all(a.to_dict()["flagged"] for a in got)
    expected = [a.to_dict() for a in detect.Detector.load().assess_many(conversations[:5], policy)]
    assert [a.to_dict() for a in got] == expected


def test_backpressure_bounds_what_is_read_ahead(cluster: Any) -> None:
    consumed = 0

    def endless() -> Iterator[Conversation]:
        nonlocal consumed
        while True:
            consumed += 1
            yield Conversation(id=f"c{consumed}", messages=(Message("see you at practice", "a"),))

    scan = scan_with_dask(
        endless(), scheduler=cluster.scheduler_address, batch_size=4, max_in_flight=2
    )
    first = [next(scan) for _ in range(10)]
    assert [a.id for a in first] == [f"c{i}" for i in range(1, 11)]
    # 10 results need 3 batches; at most 2 batches may be in flight beyond what was yielded.
    assert consumed <= 4 * (3 + 2)
    scan.close()  # type: ignore[attr-defined]


def test_own_local_cluster_when_no_scheduler(conversations: list[Conversation]) -> None:
    convs = conversations[:7]
    got = [a.to_dict() for a in scan_with_dask(convs, batch_size=2, n_workers=1)]
    assert got == _local(convs)


def test_empty_input_and_bad_arguments(cluster: Any) -> None:
    assert list(scan_with_dask([], scheduler=cluster.scheduler_address)) == []
    with pytest.raises(InputError, match="batch size"):
        scan_with_dask([], batch_size=0)
    with pytest.raises(InputError, match="workers"):
        scan_with_dask([], n_workers=0)


def test_unreachable_scheduler_is_an_input_error() -> None:
    with pytest.raises(InputError, match="cannot reach the dask scheduler"):
        list(scan_with_dask([], scheduler="tcp://127.0.0.1:1", connect_timeout=1))
