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

A canonical JSONL file on disk is scanned by :func:`scan_jsonl` without the parent reading it:
the file is cut at line breaks into ranges of about :data:`CHUNK_BYTES` bytes, and each worker
reads, parses and validates its range (:func:`groomwatch.formats.jsonl.read_range`, the JSONL
reader's own rules and messages), scores it and writes its output lines. The parent only merges
the ranges in input order: it adds the lines of the ranges before to every line number, so an
error names the line in the file, and it stops at the first bad line unless bad lines are
skipped, after passing on every conversation before it.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from groomwatch.conversation import Conversation, Participant, Role
from groomwatch.detect.detector import Assessment, Detector
from groomwatch.detect.policy import AlertPolicy
from groomwatch.detect.tactics.base import Finding
from groomwatch.errors import FormatError, InputError
from groomwatch.formats.base import ReadContext, ReadOptions, ReadReport, SkippedRecord
from groomwatch.formats.jsonl import line_ranges, read_range

__all__ = [
    "CHUNK_BYTES",
    "CHUNK_MESSAGES",
    "LARGE_INPUT_BYTES",
    "ScannedRange",
    "assess_parallel",
    "default_workers",
    "in_order",
    "scan_jsonl",
    "scan_line",
]

_I = TypeVar("_I")
_F = TypeVar("_F")

CHUNK_MESSAGES = 8192
"""Messages per chunk sent to a worker: large enough that a chunk's transfer and scheduling
cost little next to its scoring, small enough to keep every worker busy until the end."""

CHUNK_BYTES = 2 * 1024 * 1024
"""Bytes of a JSONL file a worker reads, parses and scores at a time (:func:`scan_jsonl`): some
20,000 chat messages, a fraction of a second of a worker's time, so that what a range costs
besides (opening the file, sending the results back) is small and the workers finish close
together (1, 2 and 4 MB measured within the noise of each other)."""

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
    n = _worker_count(workers)
    if chunk_messages < 1:
        raise InputError(f"chunk_messages must be >= 1, not {chunk_messages!r}")
    detector = Detector.load(model_path, cues_path)  # also checks the paths, in this process
    if n == 1:
        return detector.assess_many(convs, policy)
    inherit = _fork_ok() and isinstance(convs, list | tuple)
    if inherit:
        _INHERITED["convs"] = convs  # type: ignore[assignment]
    try:
        pool = _start_pool(n, model_path, cues_path)
    finally:
        _INHERITED.clear()
    if inherit:
        assert isinstance(convs, list | tuple)
        return _run(pool, _ranges(convs, chunk_messages), policy, 2 * n + 1, _assess_range)
    return _run(pool, _chunks(convs, chunk_messages), policy, 2 * n + 1, _assess_packed)


def _worker_count(workers: int | None) -> int:
    n = default_workers() if workers is None else workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"the number of workers must be a whole number >= 1, not {workers!r}")
    return n


def _fork_ok() -> bool:
    """Whether workers are forked: the platform allows it and this process runs one thread
    (a forked child would hold copies of the other threads' locks, in any state)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


def _start_pool(n: int, model_path: Path | None, cues_path: Path | None) -> ProcessPoolExecutor:
    """A pool of ``n`` workers that have all started and loaded the detector."""
    pool = ProcessPoolExecutor(
        max_workers=n,
        mp_context=multiprocessing.get_context("fork" if _fork_ok() else "spawn"),
        initializer=_init_worker,
        initargs=(
            None if model_path is None else str(model_path),
            None if cues_path is None else str(cues_path),
        ),
    )
    try:
        # Start every worker now (a forked worker must not inherit threads started later).
        for f in [pool.submit(_ready) for _ in range(n)]:
            f.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


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


def scan_line(a: Assessment) -> str:
    """The line ``groomwatch scan`` writes for an assessment (the scan output contract of
    DESIGN.md), with its line break."""
    return json.dumps(a.to_dict(), ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class ScannedRange:
    """The scan of the conversations of one byte range of a JSONL file (:func:`scan_jsonl`).

    ``records`` are the output lines of its conversations in input order (:func:`scan_line`);
    ``alerts`` the assessments of those that were flagged or warned, and, when asked for,
    ``alert_conversations`` their conversations in the same order; ``skipped`` the bad lines
    left out with ``skip_invalid``, numbered in the file."""

    records: str
    conversations: int
    messages: int
    alerts: tuple[Assessment, ...] = ()
    alert_conversations: tuple[Conversation, ...] = ()
    skipped: tuple[SkippedRecord, ...] = ()


class _Scanned(NamedTuple):
    """What a worker sends back for a range: :class:`ScannedRange` in plain values, with line
    numbers counted from the range's first line, the lines of the range, and the first bad
    line's error (``reason``, ``line``, ``field``), if any."""

    lines: int
    records: str
    conversations: int
    messages: int
    alerts: tuple[Result, ...]
    alert_conversations: tuple[Conversation, ...]
    skipped: tuple[tuple[int | None, str], ...]
    error: tuple[str, int | None, str | None] | None


_TYPE_DICT = frozenset({dict})
_TYPE_STR = frozenset({str})
_TYPE_STR_OR_NONE = frozenset({str, type(None)})
_TYPE_INT_OR_NONE = frozenset({int, type(None)})
_ROLES = frozenset(r.value for r in Role)


def _view(data: Any) -> _Conversation:
    """The conversation ``Conversation.from_dict(data)`` as scoring reads it, validated by the
    same rules: built directly when the record has the usual shape (what groomwatch writes:
    string ids, messages as objects, participants as objects), else by ``from_dict`` itself,
    which raises its :class:`~groomwatch.errors.RecordError` naming the field at fault."""
    if type(data) is dict:
        view = _plain_view(data)
        if view is not None:
            return view
    return _unpack(_pack(Conversation.from_dict(data)))


def _plain_view(data: dict[str, Any]) -> _Conversation | None:
    """:func:`_view` of a record whose every field has the usual type, checked a field at a
    time over all messages; ``None`` when anything is out of the usual (``from_dict`` then
    decides, so a record accepted here is one ``from_dict`` accepts, with the same texts,
    authors and participants)."""
    cid = data.get("id")
    if type(cid) is not str or not cid:
        return None
    platform = data.get("platform")
    if platform is not None and type(platform) is not str:
        return None
    label = data.get("label")
    if label is not None and not (type(label) is int and label in (0, 1)):
        return None
    msgs = data.get("messages")
    if msgs is None:
        msgs = []
    elif type(msgs) is not list:
        return None
    participants: tuple[Participant, ...] = ()
    raw_parts = data.get("participants")
    if raw_parts:  # from_dict reads a missing or empty value as no participants
        plain = _plain_participants(raw_parts)
        if plain is None:
            return None
        participants = plain
    if not msgs:
        return _Conversation(cid, [], participants)
    if set(map(type, msgs)) != _TYPE_DICT:
        return None
    texts = [m.get("text") for m in msgs]
    authors = [m.get("author") for m in msgs]
    if set(map(type, texts)) != _TYPE_STR or not set(map(type, authors)) <= _TYPE_STR_OR_NONE:
        return None
    if not set(map(type, [m.get("time") for m in msgs])) <= _TYPE_STR_OR_NONE:
        return None
    if not set(map(type, [m.get("line") for m in msgs])) <= _TYPE_INT_OR_NONE:
        return None
    if "" in authors:
        authors = [a or None for a in authors]  # from_dict: an empty author is no author
    return _Conversation(cid, list(map(_Message, texts, authors)), participants)


def _plain_participants(raw: Any) -> tuple[Participant, ...] | None:
    if type(raw) is not list:
        return None
    out: list[Participant] = []
    for p in raw:
        if type(p) is not dict:
            return None
        pid = p.get("id")
        role = p.get("role")
        age = p.get("age")
        name = p.get("name")
        if type(pid) is not str or not pid:
            return None
        if role is None or role == "":
            role = "unknown"
        elif type(role) is not str or role not in _ROLES:
            return None
        if age is not None and not (type(age) is int and 0 < age < 130):
            return None
        if name is not None and type(name) is not str:
            return None
        out.append(Participant(id=pid, role=Role(role), age=age, name=name))
    return tuple(out)


def _view_of_line(data: Any, number: int) -> tuple[_Conversation, Any]:
    """What a worker keeps of a line's record: its scoring view."""
    return _view(data), None


def _view_and_record(data: Any, number: int) -> tuple[_Conversation, Any]:
    """What a worker keeps of a line's record for a report: its view and the record, to build
    the conversations of the alerts."""
    return _view(data), data


def _scan_range(
    bounds: tuple[int, int],
    path: str,
    options: ReadOptions,
    skip_invalid: bool,
    keep: bool,
    policy: AlertPolicy | None,
) -> _Scanned:
    """Read, validate and score the lines ``bounds`` (byte offsets) of the JSONL file ``path``
    in this worker (:func:`_scan_range_with` with the worker's detector)."""
    return _scan_range_with(_WORKER["detector"], bounds, path, options, skip_invalid, keep, policy)


def _scan_range_with(
    detector: Detector,
    bounds: tuple[int, int],
    path: str,
    options: ReadOptions,
    skip_invalid: bool,
    keep: bool,
    policy: AlertPolicy | None,
) -> _Scanned:
    start, end = bounds
    report = ReadReport()
    ctx = ReadContext(path, options, report, skip_invalid)
    collecting = gc.isenabled()
    gc.disable()  # as in _assess_packed: parsing and scoring make few if any cycles
    try:
        read = read_range(Path(path), start, end, ctx, _view_and_record if keep else _view_of_line)
        views = [view for view, _ in read.records]
        assessments = list(detector.assess_many(views, policy))
        alerts: list[Result] = []
        alert_convs: list[Conversation] = []
        for a, (_, data) in zip(assessments, read.records, strict=True):
            if a.flagged or a.first_alert is not None:
                alerts.append(_result(a))
                if keep:
                    alert_convs.append(Conversation.from_dict(data))
        error = read.error
        return _Scanned(
            lines=read.lines,
            records="".join([scan_line(a) for a in assessments]),
            conversations=len(views),
            messages=sum([len(v.messages) for v in views]),
            alerts=tuple(alerts),
            alert_conversations=tuple(alert_convs),
            skipped=tuple((s.line, s.reason) for s in report.skipped),
            error=None if error is None else (error.reason, error.line, error.field),
        )
    finally:
        if collecting:
            gc.enable()


def scan_jsonl(
    path: Path,
    *,
    model_path: Path | None = None,
    cues_path: Path | None = None,
    policy: AlertPolicy | None = None,
    workers: int | None = None,
    skip_invalid: bool = False,
    options: ReadOptions | None = None,
    chunk_bytes: int | None = None,
    keep_conversations: bool = False,
) -> Iterator[ScannedRange]:
    """Scan the canonical JSONL file ``path`` with ``workers`` processes (all cores when
    ``None``) that read the file themselves, a range of about ``chunk_bytes`` bytes at a time
    (:data:`CHUNK_BYTES` when ``None``): the conversations, assessments and bad lines of
    ``read_conversations(path, "jsonl", skip_invalid=..., options=...)`` scanned by
    ``Detector.load(model_path, cues_path).assess_many(..., policy)``, as
    :class:`ScannedRange` objects in input order. ``keep_conversations`` also sends back the
    conversations of the assessments in :attr:`ScannedRange.alerts` (for a report).

    Without ``skip_invalid``, the first bad line raises :class:`FormatError` naming the file,
    the line in the file and the field, once every conversation before it has been yielded.
    Only for files that :func:`groomwatch.formats.jsonl.splittable` accepts. The workers have
    started when this function returns (see :func:`assess_parallel`); with one worker, the
    ranges are read and scored in this process."""
    n = _worker_count(workers)
    chunk_bytes = CHUNK_BYTES if chunk_bytes is None else chunk_bytes
    if chunk_bytes < 1:
        raise InputError(f"chunk_bytes must be >= 1, not {chunk_bytes!r}")
    detector = Detector.load(model_path, cues_path)  # also checks the paths, in this process
    options = options or ReadOptions()
    name = str(path)
    if not path.is_file():
        raise FormatError("no such file", path=name)
    args = (name, options, skip_invalid, keep_conversations, policy)
    pool = None if n == 1 else _start_pool(n, model_path, cues_path)
    scanned = _scanned(line_ranges(path, chunk_bytes), args, detector, pool, 2 * n + 1)
    return _merge(name, scanned)


def _scanned(
    ranges: Generator[tuple[int, int], None, None],
    args: tuple[str, ReadOptions, bool, bool, AlertPolicy | None],
    detector: Detector,
    pool: ProcessPoolExecutor | None,
    limit: int,
) -> Generator[_Scanned, None, None]:
    """The scans of ``ranges`` in order: by ``pool``, at most ``limit`` in flight, or in this
    process without one. Closing it stops the reading and the workers."""
    try:
        if pool is None:
            for bounds in ranges:
                yield _scan_range_with(detector, bounds, *args)
            return
        futures = in_order(ranges, lambda bounds: pool.submit(_scan_range, bounds, *args), limit)
        try:
            for future in futures:
                yield future.result()
        finally:
            futures.close()  # cancels the ranges not yet scanned
    finally:
        ranges.close()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _merge(name: str, scanned: Generator[_Scanned, None, None]) -> Iterator[ScannedRange]:
    """The ranges in order, their line numbers made the file's; raises the first bad line's
    error after the range's conversations before it."""
    offset = 0  # lines of the file before the range
    try:
        for s in scanned:
            yield ScannedRange(
                records=s.records,
                conversations=s.conversations,
                messages=s.messages,
                alerts=tuple(_assessment(r) for r in s.alerts),
                alert_conversations=s.alert_conversations,
                skipped=tuple(
                    SkippedRecord(name, None if line is None else offset + line, reason)
                    for line, reason in s.skipped
                ),
            )
            if s.error is not None:
                reason, line, field = s.error
                line = None if line is None else offset + line
                raise FormatError(reason, path=name, line=line, field=field)
            offset += s.lines
    finally:
        scanned.close()
