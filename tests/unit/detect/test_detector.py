"""The detector's batch path: contract, consistency with the streaming monitor, and the maths of
the incremental representation checked against a direct computation."""

from __future__ import annotations

import numpy as np
import pytest

from groomwatch.conversation import Conversation, Message, conversation_from_texts
from groomwatch.detect import AlertPolicy, Assessment, Detector
from groomwatch.detect.model import tfidf_rows
from groomwatch.detect.scoring import unit_texts
from groomwatch.detect.units import count_tokens

CONTRACT_KEYS = ["id", "risk", "flagged", "first_alert", "suspect", "tactics"]


def test_load_is_cached_and_describes_itself(detector: Detector) -> None:
    assert Detector.load() is detector
    info = detector.describe()
    assert info["features"] == len(detector.model.columns) > 1000
    assert 0.0 < detector.default_policy.threshold < 1.0


def test_to_dict_is_exactly_the_scan_contract(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    a = detector.assess(by_id["g1"])
    d = a.to_dict()
    assert list(d) == CONTRACT_KEYS
    assert d["id"] == "g1"
    assert 0.0 <= d["risk"] <= 1.0
    assert isinstance(d["flagged"], bool)
    for t in d["tactics"]:
        assert {"tactic", "message", "score", "evidence"} <= set(t)
        text = by_id["g1"].messages[t["message"]].text
        assert text[t["start"] : t["end"]] == t["evidence"]


def test_grooming_pattern_has_findings_of_several_tactics(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    a = detector.assess(by_id["g1"])
    found = {f.tactic for f in a.findings}
    assert {"secrecy", "meeting", "platform_switch"} <= found
    ordinary = detector.assess(by_id["o1"])
    assert ordinary.risk < a.risk


def test_assess_many_keeps_input_order_and_equals_assess(
    detector: Detector, synthetic: list[Conversation]
) -> None:
    many = list(detector.assess_many(synthetic))
    assert [a.id for a in many] == [c.id for c in synthetic]
    for conv, a in zip(synthetic, many, strict=True):
        single = detector.assess(conv)
        assert single.risk == pytest.approx(a.risk, abs=1e-12)
        assert single.first_alert == a.first_alert
        assert single.findings == a.findings


def test_conversations_without_authors_or_times_are_scored(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    policy = AlertPolicy(threshold=0.0)
    a = detector.assess(by_id["n1"], policy)
    assert a.flagged  # threshold 0 flags everything
    assert a.suspect is None
    assert len(a.risk_history) == len(by_id["n1"].messages)
    assert a.grooming_messages  # without authors, every evidence message counts


def test_empty_conversation(detector: Detector, by_id: dict[str, Conversation]) -> None:
    a = detector.assess(by_id["e1"])
    assert a.risk == 0.0
    assert detector.monitor().risk == 0.0
    assert a.risk_history == ()
    assert a.first_alert is None
    assert a.findings == ()
    assert not a.flagged


def test_suspect_only_after_a_flag_or_warning(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    low = detector.assess(by_id["g1"], AlertPolicy(threshold=1.0))
    assert not low.flagged
    assert low.first_alert is None
    assert low.suspect is None
    high = detector.assess(by_id["g1"], AlertPolicy(threshold=0.0))
    assert high.first_alert == 0
    assert high.suspect == "mark77"
    assert all(by_id["g1"].messages[i].author == "mark77" for i in high.grooming_messages)


@pytest.mark.parametrize("cid", ["g1", "n1", "o2", "s1"])
def test_first_alert_and_history_equal_the_monitor(
    detector: Detector, by_id: dict[str, Conversation], cid: str
) -> None:
    conv = by_id[cid]
    a = detector.assess(conv)
    # a threshold in the middle of the conversation's own risks makes the alert fire mid-way
    mid = float(np.median(a.risk_history))
    for policy in (detector.default_policy, AlertPolicy(mid, window=2), AlertPolicy(mid)):
        a = detector.assess(conv, policy)
        mon = detector.monitor(policy, participants=conv.participants)
        updates = [mon.update(m) for m in conv.messages]
        assert [u.risk for u in updates] == pytest.approx(list(a.risk_history), abs=1e-12)
        assert mon.first_alert == a.first_alert
        assert [u.index for u in updates if u.fired][:1] == (
            [a.first_alert] if a.first_alert is not None else []
        )
        assert mon.suspect == a.suspect
        streamed = [f for u in updates for f in u.findings]
        assert tuple(streamed) == a.findings


def _reference_decisions(detector: Detector, conv: Conversation) -> list[float]:
    """The decision after each unit, from scratch: sum the unit counts, TF-IDF them with
    :func:`tfidf_rows`, dot with the weights."""
    model = detector.model
    units: list[str] = []
    tactic_counts = np.zeros(len(model.tactic_names))
    out = []
    for i, msg in enumerate(conv.messages):
        for _offset, text in unit_texts(msg.text):
            units.append(text)
            for f in detector.registry.find(text, i, msg.author):
                if f.tactic in detector.tactic_index:
                    tactic_counts[detector.tactic_index[f.tactic]] += 1
            counts = model.kept_counts(detector.hasher.transform(units))
            total = counts.sum(axis=0)
            x = tfidf_rows(
                type(counts)(total), model.linear.idf, model.linear.blocks, model.linear.n_blocks
            )
            text_part = float((x @ model.linear.coef_text)[0])
            tokens = sum(count_tokens(u) for u in units)
            out.append(
                text_part
                + float(np.log1p(tactic_counts) @ model.linear.coef_tactic)
                + model.linear.coef_length * float(np.log1p(tokens))
                + model.linear.intercept
            )
    return out


def test_incremental_representation_equals_direct_computation(
    detector: Detector, by_id: dict[str, Conversation]
) -> None:
    for cid in ("g1", "s1"):
        conv = by_id[cid]
        _a, trace = next(detector.traces([conv]))
        expected = np.array(_reference_decisions(detector, conv))
        assert trace.unit_decisions is not None
        assert trace.unit_decisions == pytest.approx(expected, abs=1e-9)


def test_one_long_text_scores_like_its_units_as_messages(detector: Detector) -> None:
    words = ("we talked about school and the weekend and games " * 12).split()
    text = " ".join(words)
    whole = detector.assess(conversation_from_texts("x", [text]))
    pieces = [text[s:e] for s, e in (span for span in _spans(text))]
    split = detector.assess(conversation_from_texts("y", pieces))
    assert whole.risk == pytest.approx(split.risk, abs=1e-12)


def _spans(text: str) -> list[tuple[int, int]]:
    from groomwatch.detect.units import split_units

    return split_units(text)


def test_assessment_is_frozen(detector: Detector) -> None:
    a = detector.assess(Conversation(id="z", messages=(Message("hello"),)))
    assert isinstance(a, Assessment)
    with pytest.raises(AttributeError):
        a.risk = 1.0  # type: ignore[misc]
    full = a.to_full_dict()
    assert full["risk_history"]
    assert full["message_risks"]
