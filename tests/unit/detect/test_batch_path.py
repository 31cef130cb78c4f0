"""The vectorised batch path: its pieces against the plain per-unit rules, and whole
assessments against the streaming monitor on conversations that exercise every branch."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.conversation import Conversation, Message, Participant, Role
from groomwatch.detect import AlertPolicy, Detector
from groomwatch.detect.attribution import Tally, add_to_tally, choose_suspect, is_grooming_message
from groomwatch.detect.detector import _attribute, _first_alerts, _sigmoids
from groomwatch.detect.fasthash import _ascii_not_space, _ascii_word, _rows_of
from groomwatch.detect.fusion import sigmoid
from groomwatch.detect.policy import persistence_step
from groomwatch.detect.scoring import _token_counts, group_entries, read_units, score_units
from groomwatch.detect.tactics.base import Finding
from groomwatch.detect.units import count_tokens


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=60))
def test_split_counts_the_same_tokens_as_the_regex(text: str) -> None:
    assert len(text.split()) == count_tokens(text)


@settings(max_examples=300, deadline=None)
@given(
    risks=st.lists(st.lists(st.sampled_from([0.1, 0.5, 0.9]), max_size=8), max_size=6),
    window=st.integers(1, 4),
    min_messages=st.integers(1, 5),
)
def test_first_alerts_equal_the_persistence_rule(
    risks: list[list[float]], window: int, min_messages: int
) -> None:
    policy = AlertPolicy(0.5, window=window, min_messages=min_messages)
    expected = []
    offset = 0
    for conv in risks:
        run, first = 0, -1
        for i, r in enumerate(conv):
            run, alert = persistence_step(policy, r, run, i + 1)
            if alert and first < 0:
                first = offset + i
        expected.append(first)
        offset += len(conv)
    flat = np.array([r for conv in risks for r in conv], dtype=np.float64)
    starts = np.concatenate([[0], np.cumsum([len(c) for c in risks])]).astype(np.int64)
    assert _first_alerts(flat, starts, policy) == expected


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 4), min_size=1, max_size=5),
    data=st.data(),
)
def test_group_entries_sums_and_orders(sizes: list[int], data: st.DataObject) -> None:
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(starts[-1])
    if n == 0:
        return
    k = data.draw(st.integers(1, 30))
    rows = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)))
    cols = np.array(data.draw(st.lists(st.integers(0, 5), min_size=k, max_size=k)))
    ones = data.draw(st.booleans())
    counts = np.ones(k) if ones else np.array([float(1 + i % 3) for i in range(k)])
    r, p, d = group_entries(starts, rows, cols, counts, 6)
    expected: dict[tuple[int, int], float] = {}
    for a, b, c in zip(rows.tolist(), cols.tolist(), counts.tolist(), strict=True):
        expected[(a, b)] = expected.get((a, b), 0.0) + c
    assert dict(zip(zip(r.tolist(), p.tolist(), strict=True), d.tolist(), strict=True)) == expected
    # column, then unit: a conversation's units being consecutive, the entries of one column of
    # one conversation are consecutive and in unit order
    order = list(zip(p.tolist(), r.tolist(), strict=True))
    assert order == sorted(order)


def test_read_units_fast_path_equals_the_matrix_path(detector: Detector) -> None:
    convs = _varied()
    model = detector.model
    registry, hasher, names = detector.registry, detector.hasher, model.tactic_names
    fast = read_units(
        convs, registry, hasher, names, kept=model.kept_entries, n_kept=len(model.columns)
    )
    table = read_units(
        convs, registry, hasher, names, n_kept=len(model.columns), positions=model.position_table
    )
    slow = read_units(convs, registry, hasher, names, model.kept_counts)
    assert (table.counts != slow.counts).nnz == 0
    assert table.grouped is not None
    assert fast.grouped is not None
    assert slow.grouped is None
    assert (fast.counts != slow.counts).nnz == 0
    assert fast.counts.has_canonical_format
    assert np.array_equal(fast.tokens, slow.tokens)
    assert fast.unit_findings == slow.unit_findings
    a, b = score_units(fast, model.linear), score_units(slow, model.linear)
    assert np.array_equal(a.cumulative, b.cumulative)
    assert np.array_equal(a.own, b.own)


def _varied() -> list[Conversation]:
    """Synthetic conversations covering the branches: no messages, one message, no authors,
    declared roles, non-ASCII text, a long text split into units, tactics spread over two
    authors, repeated words (counts above one, and above the sublinear table's 1024: a
    conversation that says "ha" 1,100 times)."""
    long_text = " ".join(["we talked about school and games and the weekend"] * 8)
    lines = [
        ("hi there how was school", "kid"),
        ("you are so mature for your age", "adult1"),
        ("don't tell your parents about this ok", "adult1"),
        ("i'm 13", "kid"),
        ("add me on snapchat, send me a photo of you", "adult1"),
        ("we could meet at the mall saturday", "adult1"),
    ]
    return [
        Conversation(id="empty"),
        Conversation(id="one", messages=(Message(text="hello hello hello", author="a"),)),
        Conversation(
            id="no-authors",
            messages=(*tuple(Message(text=t) for t, _ in lines), Message(text=long_text)),
        ),
        Conversation(
            id="roles",
            messages=tuple(Message(text=t, author=a) for t, a in lines),
            participants=(Participant("adult1", Role.ADULT), Participant("kid", Role.CHILD)),
        ),
        Conversation(
            id="laughing",
            messages=(
                *(Message(text="ha " * 110, author="a" if i % 2 else "b") for i in range(10)),
                Message(text="ha ha", author="a"),
            ),
        ),
        Conversation(
            id="unicode",
            messages=(
                Message(text="Héllo ΣΑΣ café 😀 how old are you?", author="x"),
                Message(text="", author="y"),
                Message(text="İstanbul e\u0301 tú eres muy maduro", author="x"),
                Message(text=long_text + " ünïcode", author="y"),
            ),
        ),
    ]


@pytest.mark.parametrize(
    "policy",
    [None, AlertPolicy(0.3), AlertPolicy(0.3, window=2, min_messages=3), AlertPolicy(0.0)],
)
def test_batch_equals_the_monitor_on_varied_conversations(
    detector: Detector, policy: AlertPolicy | None
) -> None:
    convs = _varied()
    for conv, a in zip(convs, detector.assess_many(convs, policy), strict=True):
        mon = detector.monitor(policy, participants=conv.participants)
        updates = [mon.update(m) for m in conv.messages]
        assert [u.risk for u in updates] == pytest.approx(list(a.risk_history), abs=1e-12)
        assert [u.message_risk for u in updates] == pytest.approx(list(a.message_risks), abs=1e-12)
        assert mon.first_alert == a.first_alert
        assert mon.suspect == a.suspect
        assert tuple(f for u in updates for f in u.findings) == a.findings
        if conv.messages:
            assert mon.components == pytest.approx(a.components, abs=1e-12)
            assert (mon.risk >= (policy or detector.default_policy).threshold) == a.flagged


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(-40.0, 40.0),
            st.sampled_from([0.0, -0.0, 1e-300, -1e-300, 709.0, -745.0]),
        ),
        max_size=40,
    )
)
def test_sigmoids_equal_the_scalar_sigmoid_bit_for_bit(values: list[float]) -> None:
    got = _sigmoids(np.array(values, dtype=np.float64)).tolist()
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", sigmoid(v)) for v in values]


def _reference_attribution(
    messages: list[Message], msg_risk: list[float], findings: tuple[Finding, ...]
) -> tuple[str | None, tuple[int, ...]]:
    """The monitor's tally, message by message (what the batch path did before)."""
    by_msg: dict[int, list[Finding]] = {}
    for f in findings:
        by_msg.setdefault(f.message, []).append(f)
    tally: dict[str, Tally] = {}
    for i, msg in enumerate(messages):
        if msg.author is not None:
            add_to_tally(tally, msg.author, msg_risk[i], by_msg.get(i, ()))
    suspect = choose_suspect(tally)
    grooming = tuple(
        i
        for i, msg in enumerate(messages)
        if (suspect is None or msg.author == suspect)
        and is_grooming_message(msg_risk[i], by_msg.get(i, ()))
    )
    return suspect, grooming


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_attribution_equals_the_tally_message_by_message(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 12))
    authors = data.draw(st.lists(st.sampled_from([None, "a", "b", "c"]), min_size=n, max_size=n))
    risks = data.draw(
        st.lists(st.sampled_from([0.0, 0.2, 0.5, 0.50001, 0.7, 0.9, 1.0]), min_size=n, max_size=n)
    )
    findings: list[Finding] = []
    for i in range(n):
        for tactic in data.draw(
            st.lists(st.sampled_from(["secrecy", "meeting", "victim_age_signal"]), max_size=2)
        ):
            score = data.draw(st.sampled_from([0.3, 0.5, 0.9]))
            findings.append(Finding(tactic, i, score, "x", author=authors[i]))
    messages = [Message(text="x", author=a) for a in authors]
    expected = _reference_attribution(messages, risks, tuple(findings))
    assert _attribute(messages, risks, tuple(findings)) == expected


def test_byte_classes_and_rows_equal_the_table_and_search() -> None:
    every = np.arange(256, dtype=np.uint8)
    word = np.array([chr(b).isalnum() or chr(b) == "_" for b in range(128)] + [False] * 128)
    assert np.array_equal(_ascii_word(every)[:128], word[:128])
    space = np.array([chr(b).isspace() for b in range(128)])
    assert np.array_equal(_ascii_not_space(every)[:128], ~space)
    text_starts = np.array([0, 3, 4, 9, 10], dtype=np.int64)
    positions = np.arange(12, dtype=np.int64)
    expected = np.searchsorted(text_starts, positions, side="right") - 1
    assert np.array_equal(_rows_of(positions, text_starts, 12), expected)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ab \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f_'", max_size=12) | st.text(max_size=8),
        min_size=0,
        max_size=120,
    )
)
def test_token_counts_equal_split(texts: list[str]) -> None:
    assert _token_counts(texts) == [len(t.split()) for t in texts]
    padded = [*texts, *(["x y"] * 64)]  # over the size from which numpy counts
    assert _token_counts(padded) == [len(t.split()) for t in padded]
