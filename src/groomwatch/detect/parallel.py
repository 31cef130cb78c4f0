"""Batch scanning on all the cores of one machine: :func:`assess_parallel`.

:meth:`Detector.assess_many <groomwatch.detect.detector.Detector.assess_many>` runs in one
process, so a scan of a large archive uses one core. Here the conversations are cut into chunks
of about :data:`CHUNK_MESSAGES` messages and assessed by a pool of worker processes, each running
the same ``assess_many``, so the results are the ones a single process gives, in input order.

What crosses between processes is kept small, because pickling costs CPU on both sides and the
parent process does it alone: a chunk goes out as plain tuples (conversation id, texts, authors,
participants; no timestamps, labels or metadata, which scoring does not read) and comes back as
tuples of numbers and strings, rebuilt into :class:`Assessment` objects by the parent. When the
conversations are already in memory (a list or a tuple) and the workers are forked, nothing of
them is sent: each worker inherits them with the parent's memory and is sent only the index
range of its chunk.

Workers are forked when the platform allows it and the parent runs a single thread: they then
inherit the loaded detector and start at once. Otherwise (or on platforms without ``fork``) they
are spawned and load the detector themselves. At most ``2 x workers + 1`` chunks are in flight,
so the input is read no faster than the workers score it and memory stays bounded.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from groomwatch.conversation import Conversation, Participant
from groomwatch.detect.detector import Assessment, Detector
from groomwatch.detect.policy import AlertPolicy
from groomwatch.detect.tactics.base import Finding
from groomwatch.errors import InputError

__all__ = [
    "CHUNK_MESSAGES",
    "LARGE_INPUT_BYTES",
    "assess_parallel",
    "default_workers",
    "in_order",
]

_I = TypeVar("_I")
_F = TypeVar("_F")

CHUNK_MESSAGES = 8192
"""Messages per chunk sent to a worker: large enough that a chunk's transfer and scheduling
cost little next to its scoring, small enough to keep every worker busy until the end."""

LARGE_INPUT_BYTES = 8 * 1024 * 1024
"""``groomwatch scan`` uses all cores by default from this input size on; below it, starting
the workers would cost more than it saves."""

# The worker's detector, set by the pool initializer.
_WORKER: dict[str, Any] = {}

# The conversations of the scan being started, when they are in memory (a list or a tuple) and
# the workers are forked: each worker inherits them with the parent's memory and reads its
# chunks by index, so the parent neither packs nor pickles them (about a microsecond a message
# on each side). Set just before the workers start and cleared just after, in the parent.
_INHERITED: dict[str, Sequence[Conversation]] = {}

Packed = tuple[str, tuple[str, ...], tuple[str | None, ...], tuple[Participant, ...]]
FindingRow = tuple[str, int, float, str, int, int, str | None, str | None, int | None]
Result = tuple[
    str,
    float,
    bool,
    int | None,
    str | None,
    tuple[FindingRow, ...],
    tuple[float, ...],
    tuple[int, ...],
    tuple[float, ...],
    dict[str, float],
]


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(1, os.cpu_count() or 1)


def _pack(conv: Conversation) -> Packed:
    msgs = conv.messages
    return (
        conv.id,
        tuple([m.text for m in msgs]),  # a list first: faster than a generator into tuple()
        tuple([m.author for m in msgs]),
        conv.participants,
    )


class _Message(NamedTuple):
    """A message as scoring reads it (:class:`~groomwatch.detect.scoring.MessageLike`): a
    tuple is built several times faster than a :class:`~groomwatch.conversation.Message`."""

    text: str
    author: str | None


class _Conversation(NamedTuple):
    """A conversation as scoring reads it (:class:`~groomwatch.detect.scoring.ConversationLike`)."""

    id: str
    messages: list[_Message]
    participants: tuple[Participant, ...]


def _unpack(packed: Packed) -> _Conversation:
    cid, texts, authors, participants = packed
    return _Conversation(cid, list(map(_Message, texts, authors)), participants)


def _finding_row(f: Finding) -> FindingRow:
    return (f.tactic, f.message, f.score, f.evidence, f.start, f.end, f.author, f.cue, f.age)


def _result(a: Assessment) -> Result:
    return (
        a.id,
        a.risk,
        a.flagged,
        a.first_alert,
        a.suspect,
        tuple(_finding_row(f) for f in a.findings),
        a.risk_history,
        a.grooming_messages,
        a.message_risks,
        a.components,
    )


def _assessment(r: Result) -> Assessment:
    cid, risk, flagged, first_alert, suspect, findings, history, grooming, msg_risks, comps = r
    return Assessment(
        id=cid,
        risk=risk,
        flagged=flagged,
        first_alert=first_alert,
        suspect=suspect,
        findings=tuple(Finding(*f) for f in findings),
        risk_history=history,
        grooming_messages=grooming,
        message_risks=msg_risks,
        components=comps,
    )


def _init_worker(model_path: str | None, cues_path: str | None) -> None:
    _WORKER["detector"] = Detector.load(
        Path(model_path) if model_path is not None else None,
        Path(cues_path) if cues_path is not None else None,
    )
    # A forked worker inherits every object of the parent (e.g. conversations it holds): keep
    # the garbage collector from walking them again and again (and from copying their pages).
    gc.freeze()


def _assess_packed(chunk: list[Packed], policy: AlertPolicy | None) -> list[Result]:
    detector: Detector = _WORKER["detector"]
    # Scoring creates few if any reference cycles (any are collected after the chunk): the
    # collector's passes over a chunk's many short-lived objects are pure cost in a worker.
    gc.disable()
    try:
        return [_result(a) for a in detector.assess_many([_unpack(p) for p in chunk], policy)]
    finally:
        gc.enable()


def _assess_range(bounds: tuple[int, int], policy: AlertPolicy | None) -> list[Result]:
    """:func:`_assess_packed` of the conversations ``bounds`` of the input this forked worker
    inherited (:data:`_INHERITED`): nothing of them crossed between the processes."""
    start, end = bounds
    detector: Detector = _WORKER["detector"]
    gc.disable()
    try:
        return [_result(a) for a in detector.assess_many(_INHERITED["convs"][start:end], policy)]
    finally:
        gc.enable()


def _ready() -> bool:
    return "detector" in _WORKER


def _ranges(convs: Sequence[Conversation], size: int) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of consecutive conversations of about ``size`` messages each."""
    start = n = 0
    for i, conv in enumerate(convs):
        n += len(conv.messages)
        if n >= size:
            yield start, i + 1
            start, n = i + 1, 0
    if start < len(convs):
        yield start, len(convs)


def _chunks(convs: Iterable[Conversation], size: int) -> Iterator[list[Packed]]:
    chunk: list[Packed] = []
    n = 0
    for conv in convs:
        chunk.append(_pack(conv))
        n += len(conv.messages)
        if n >= size:
            yield chunk
            chunk, n = [], 0
    if chunk:
        yield chunk


def assess_parallel(
    convs: Iterable[Conversation],
    *,
    model_path: Path | None = None,
    cues_path: Path | None = None,
    policy: AlertPolicy | None = None,
    workers: int | None = None,
    chunk_messages: int = CHUNK_MESSAGES,
) -> Iterator[Assessment]:
    """Assess ``convs`` with ``workers`` processes (all cores when ``None``), yielding one
    :class:`Assessment` per conversation in input order: the same as
    ``Detector.load(model_path, cues_path).assess_many(convs, policy)``.

    The workers are started (and have loaded the detector) when this function returns, so
    that a caller may start threads afterwards; they stop when the returned iterator is
    exhausted or closed. With one worker, the scan runs in this process."""
    n = default_workers() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"the number of workers must be a whole number >= 1, not {workers!r}")
    if chunk_messages < 1:
        raise InputError(f"chunk_messages must be >= 1, not {chunk_messages!r}")
    detector = Detector.load(model_path, cues_path)  # also checks the paths, in this process
    if n == 1:
        return detector.assess_many(convs, policy)
    can_fork = "fork" in multiprocessing.get_all_start_methods()
    method = "fork" if can_fork and threading.active_count() == 1 else "spawn"
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context(method),
        initializer=_init_worker,
        initargs=(
            None if model_path is None else str(model_path),
            None if cues_path is None else str(cues_path),
        ),
    )
    inherit = method == "fork" and isinstance(convs, list | tuple)
    if inherit:
        _INHERITED["convs"] = convs  # type: ignore[assignment]
    try:
        # Start every worker now (a forked worker must not inherit threads started later).
        for f in [pool.submit(_ready) for _ in range(n)]:
            f.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        _INHERITED.clear()
    if inherit:
        assert isinstance(convs, list | tuple)
        return _run(pool, _ranges(convs, chunk_messages), policy, 2 * n + 1, _assess_range)
    return _run(pool, _chunks(convs, chunk_messages), policy, 2 * n + 1, _assess_packed)


def in_order(
    items: Iterator[_I], submit: Callable[[_I], _F], limit: int
) -> Generator[_F, None, None]:
    """The futures of ``submit(item)`` for every item, in input order, with at most ``limit``
    submitted and not yet yielded: the input is read no faster than the results are taken, so
    memory stays bounded (used by the process pool here and by the Dask engine). Closing the
    generator cancels the futures not yet yielded (``cancel()``, which both kinds of future have).
    """
    pending: deque[Any] = deque()
    try:
        exhausted = False
        while True:
            while not exhausted and len(pending) < limit:
                item = next(items, None)
                if item is None:
                    exhausted = True
                    break
                pending.append(submit(item))
            if not pending:
                return
            yield pending.popleft()
    finally:
        for future in pending:
            future.cancel()


def _run(
    pool: ProcessPoolExecutor,
    chunks: Iterator[_I],
    policy: AlertPolicy | None,
    limit: int,
    assess: Callable[[_I, AlertPolicy | None], list[Result]],
) -> Iterator[Assessment]:
    try:
        for future in in_order(chunks, lambda c: pool.submit(assess, c, policy), limit):
            for r in future.result():
                yield _assessment(r)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
