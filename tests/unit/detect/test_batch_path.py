"""The vectorised batch path: its pieces against the plain per-unit rules, and whole
assessments against the streaming monitor on conversations that exercise every branch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.conversation import Conversation, Message, Participant, Role
from groomwatch.detect import AlertPolicy, Detector
from groomwatch.detect.detector import _first_alerts
from groomwatch.detect.policy import persistence_step
from groomwatch.detect.scoring import group_entries, read_units, score_units
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
    conv = np.searchsorted(starts, r, side="right") - 1
    order = list(zip(conv.tolist(), p.tolist(), r.tolist(), strict=True))
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
    authors, repeated words (counts above one)."""
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
