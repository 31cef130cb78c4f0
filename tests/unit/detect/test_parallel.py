"""Scanning with several worker processes gives the single process's assessments, in order,
whether the workers are sent the conversations or read a JSONL file themselves."""

from __future__ import annotations

import json
import multiprocessing
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.cli import main
from groomwatch.conversation import Conversation, Message
from groomwatch.detect import AlertPolicy, Assessment, Detector, parallel
from groomwatch.detect.parallel import assess_parallel, scan_jsonl, scan_line
from groomwatch.errors import FormatError, InputError, RecordError
from groomwatch.formats import ReadOptions, ReadReport


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


# Workers reading a JSONL file in byte ranges (scan_jsonl): what one process reads and scores.

_FILLER = (
    "see you at practice",
    "did you finish the homework",
    "the bus was late again",
    "lol that movie was so funny",
    "are you coming to the party on saturday",
)


def _records(synthetic: list[Conversation], copies: int = 8) -> list[dict[str, Any]]:
    """Canonical records of many conversations: the synthetic fixtures under new ids, everyday
    filler chats, and the shapes the format also allows (messages as plain strings, whole-number
    ids, empty authors, message line numbers, extra keys, null participants)."""
    out: list[dict[str, Any]] = []
    for k in range(copies):
        for conv in synthetic:
            record = conv.to_dict()
            record["id"] = f"{conv.id}-{k}"
            out.append(record)
            msgs = [
                {"author": f"p{i % 2}", "text": _FILLER[(i + k) % len(_FILLER)], "time": None}
                for i in range(k + len(conv.id))
            ]
            out.append({"id": f"filler-{conv.id}-{k}", "label": 0, "messages": msgs})
        out.append({"id": 1000 + k, "messages": ["hi", "how old are you?", "13"]})
        out.append(
            {
                "id": f"shapes-{k}",
                "platform": "game-chat",
                "participants": None,
                "source": {"export": k},
                "messages": [
                    {"author": "", "text": "hello", "line": 3},
                    {"author": 42, "text": "don't tell your parents we talk"},
                    {"text": None},
                ],
            }
        )
    return out


def _write(path: Path, records: list[dict[str, Any]], bad: dict[int, str] | None = None) -> None:
    """The records one a line; ``bad`` puts lines (1-based numbers) of its own in between."""
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    for number, line in sorted((bad or {}).items()):
        lines.insert(number - 1, line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _one_process(detector: Detector, path: Path, **read: Any) -> tuple[str, list[Assessment]]:
    from groomwatch.formats import read_conversations

    assessments = list(detector.assess_many(read_conversations(path, **read)))
    return "".join(scan_line(a) for a in assessments), assessments


@pytest.mark.parametrize(
    ("workers", "chunk"), [(2, 1), (2, 700), (2, 5000), (2, 1 << 20), (1, 700)]
)
def test_scan_jsonl_equals_one_process(
    detector: Detector, synthetic: list[Conversation], tmp_path: Path, workers: int, chunk: int
) -> None:
    path = tmp_path / "archive.jsonl"
    records = _records(synthetic)
    _write(path, records)
    want, assessments = _one_process(detector, path)
    parts = list(scan_jsonl(path, workers=workers, chunk_bytes=chunk, keep_conversations=True))
    assert "".join(p.records for p in parts) == want
    assert sum(p.conversations for p in parts) == len(records)
    assert sum(p.messages for p in parts) == sum(len(r.get("messages") or ()) for r in records)
    alerts = [a for a in assessments if a.flagged or a.first_alert is not None]
    assert [a for p in parts for a in p.alerts] == alerts
    kept = [c for p in parts for c in p.alert_conversations]
    assert [c.id for c in kept] == [a.id for a in alerts]
    assert all(isinstance(c, Conversation) and c.messages for c in kept)
    if chunk == 1:
        assert len(parts) == len(records)  # one range a line
    assert any(a.findings for a in assessments)
    assert alerts


@pytest.mark.parametrize("chunk", [1, 3000])
def test_an_error_in_a_later_range_names_the_line_in_the_file(
    detector: Detector, synthetic: list[Conversation], tmp_path: Path, chunk: int
) -> None:
    path = tmp_path / "archive.jsonl"
    records = _records(synthetic, copies=4)
    _write(path, records, bad={3: "", 30: '{"id": "x", "messages": [{"text": 5}]}', 40: "{oops"})
    from groomwatch.formats.jsonl import line_ranges

    ranges = list(line_ranges(path, chunk))
    line_starts = [0, *(i + 1 for i, b in enumerate(path.read_bytes()) if b == ord("\n"))]
    assert (
        sum(s < line_starts[29] for s, _ in ranges) >= 3
    )  # line 30 is in the third range or later
    parts = []
    with pytest.raises(FormatError) as info:
        parts.extend(scan_jsonl(path, workers=2, chunk_bytes=chunk))
    assert str(info.value) == f"{path}, line 30, field messages[0].text: must be a string"
    # every conversation before the bad line was passed on
    good = tmp_path / "good.jsonl"
    good.write_bytes(path.read_bytes()[: line_starts[29]])
    assert "".join(p.records for p in parts) == _one_process(detector, good)[0]


def test_skip_invalid_across_ranges(
    detector: Detector, synthetic: list[Conversation], tmp_path: Path
) -> None:
    path = tmp_path / "archive.jsonl"
    records = _records(synthetic, copies=4)
    limit = max(len(json.dumps(r, ensure_ascii=False).encode()) for r in records)
    bad = {
        2: "[1, 2]",
        9: '{"id": "", "messages": []}',
        25: "{oops",
        26: '{"id": "p", "participants": [{"id": "u", "age": 200}]}',
        60: '{"id": "q", "messages": [{"text": "' + "w " * limit + '"}]}',  # too long
    }
    _write(path, records, bad=bad)
    options = ReadOptions(max_record_bytes=limit)
    report = ReadReport()
    want, _ = _one_process(detector, path, skip_invalid=True, options=options, report=report)
    for chunk in (1, 2000):
        parts = list(
            scan_jsonl(path, workers=2, chunk_bytes=chunk, skip_invalid=True, options=options)
        )
        assert "".join(p.records for p in parts) == want
        assert [s for p in parts for s in p.skipped] == report.skipped
    assert [s.line for s in report.skipped] == sorted(bad)


def test_scan_jsonl_refuses_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="chunk_bytes"):
        scan_jsonl(tmp_path / "x.jsonl", workers=2, chunk_bytes=0)
    with pytest.raises(InputError, match="workers"):
        scan_jsonl(tmp_path / "x.jsonl", workers=0)
    with pytest.raises(FormatError, match="no such file"):
        scan_jsonl(tmp_path / "x.jsonl", workers=2)


def _mostly(valid: st.SearchStrategy[Any], *odd: Any) -> st.SearchStrategy[Any]:
    """Usually a valid value, now and then one of ``odd`` (of a wrong type or out of range)."""
    return st.integers(0, 11).flatmap(lambda i: valid if i else st.sampled_from(odd))


_ODD = (None, True, False, 0, 1, 1.0, 7, -1, 200, "", "x", [], {}, ["a"], {"a": 1})
_name = st.sampled_from(["u1", "u2", "sky_12", "mark77"])
_message = _mostly(
    st.fixed_dictionaries(
        {"text": _mostly(st.sampled_from(["hi", "how old are you?", "", "ok"]), *_ODD)},
        optional={
            "author": _mostly(st.one_of(st.none(), _name, st.just("")), *_ODD),
            "time": _mostly(st.one_of(st.none(), st.just("2024-03-01T16:40:00Z")), *_ODD),
            "line": _mostly(st.one_of(st.none(), st.integers(0, 99)), *_ODD),
            "extra": st.sampled_from(_ODD),
        },
    ),
    "plain text",
    *_ODD,
)
_participant = _mostly(
    st.fixed_dictionaries(
        {"id": _mostly(_name, *_ODD)},
        optional={
            "role": _mostly(st.sampled_from(["child", "adult", "unknown", None, ""]), *_ODD),
            "age": _mostly(st.one_of(st.none(), st.integers(-1, 131)), *_ODD),
            "name": _mostly(st.one_of(st.none(), _name), *_ODD),
        },
    ),
    *_ODD,
)
_record = _mostly(
    st.fixed_dictionaries(
        {"id": _mostly(st.one_of(_name, st.integers(0, 99)), *_ODD)},
        optional={
            "platform": _mostly(st.one_of(st.none(), st.just("game-chat")), *_ODD),
            "label": _mostly(st.sampled_from([None, 0, 1]), *_ODD),
            "messages": _mostly(st.lists(_message, max_size=5), *_ODD),
            "participants": _mostly(st.lists(_participant, max_size=3), *_ODD),
            "source": st.sampled_from(_ODD),
        },
    ),
    *_ODD,
)


def _outcome(build: Callable[[Any], Any], data: Any) -> tuple[str, Any]:
    try:
        return "ok", build(data)
    except RecordError as exc:
        return "error", (str(exc), exc.field)


@settings(max_examples=400, deadline=None)
@given(_record)
def test_scoring_view_validates_as_from_dict(data: Any) -> None:
    """The workers' direct view of a record accepts what ``Conversation.from_dict`` accepts,
    with the same texts, authors and participants, and refuses the rest with its message."""

    def reference(d: Any) -> Any:
        return parallel._unpack(parallel._pack(Conversation.from_dict(d)))

    assert _outcome(parallel._view, data) == _outcome(reference, data)


def test_scoring_view_reads_the_usual_shape_directly(synthetic: list[Conversation]) -> None:
    for conv in synthetic:
        view = parallel._plain_view(conv.to_dict())
        assert view is not None
        assert view == parallel._unpack(parallel._pack(conv))
