"""The fusion of the text model with the tactic pattern (groomwatch.detect.fusion)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import pytest

from groomwatch.conversation import Conversation, Participant, Role
from groomwatch.detect import Detector
from groomwatch.detect.fusion import (
    VICTIM_TACTIC,
    FusionConfig,
    PatternTracker,
    describe_driver,
    fused_step,
)
from groomwatch.detect.monitor import MonitorStateError
from groomwatch.detect.report import render_report
from groomwatch.detect.tactics.base import Finding
from groomwatch.formats import read_conversations

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "detect" / "fusion.jsonl"


@pytest.fixture(scope="module")
def det() -> Detector:
    return Detector.load()


@pytest.fixture(scope="module")
def convs() -> dict[str, Conversation]:
    return {c.id: c for c in read_conversations(FIXTURE)}


def _fusion(det: Detector) -> FusionConfig:
    assert det.model.fusion is not None, "the shipped model fuses text and tactics"
    return det.model.fusion


def _finding(tactic: str, author: str | None, index: int = 0) -> Finding:
    return Finding(
        tactic=tactic,
        message=index,
        start=0,
        end=1,
        score=1.0,
        evidence="x",
        author=author,
    )


def test_fused_risk_is_monotone_in_added_tactic_evidence(det: Detector) -> None:
    cfg = _fusion(det)
    tactics = [*cfg.severity, VICTIM_TACTIC]
    for text_logit, tokens in ((-6.0, 10.0), (0.0, 200.0), (2.0, 5.0)):
        for order in itertools.islice(itertools.permutations(tactics), 0, 40, 7):
            tracker = PatternTracker(cfg, adults=["a"], minors=["b"])
            previous, _ = fused_step(cfg, text_logit, tokens, tracker)
            for i, name in enumerate(order):
                author = "b" if name == VICTIM_TACTIC else ("a" if i % 3 else None)
                tracker.add(author, [_finding(name, author, i)])
                risk, parts = fused_step(cfg, text_logit, tokens, tracker)
                assert risk >= previous - 1e-15
                assert parts["tactics"] >= 0.0
                assert parts["context"] >= 0.0
                previous = risk


def test_one_tactic_never_flags_through_the_pattern_alone(det: Detector) -> None:
    cfg = _fusion(det)
    threshold = det.default_policy.threshold
    assert cfg.sufficient == ("extortion",)
    for name in cfg.severity:
        # the most aggravating context: declared adult to child, the child's age signal, repeats
        tracker = PatternTracker(cfg, adults=["a"], minors=["b"])
        tracker.add("b", [_finding(VICTIM_TACTIC, "b")])
        for i in range(10):
            tracker.add("a", [_finding(name, "a", i)])
        if name in cfg.sufficient:  # a threat to expose someone warns by itself
            assert tracker.best is not None
            assert fused_step(cfg, cfg.prior, 0.0, tracker)[0] >= threshold
            continue
        assert tracker.best is None
        assert tracker.probability() == 0.0
        risk, _ = fused_step(cfg, cfg.prior, 0.0, tracker)  # text model without evidence
        assert risk < threshold
    # two of the heaviest tactics do make a pattern
    tracker = PatternTracker(cfg)
    tracker.add("a", [_finding("secrecy", "a"), _finding("meeting", "a")])
    assert tracker.best is not None
    assert tracker.probability() > 0.0


def test_context_alone_is_not_a_pattern(det: Detector) -> None:
    cfg = _fusion(det)
    tracker = PatternTracker(cfg, adults=["a"], minors=["b"])
    tracker.add("b", [_finding(VICTIM_TACTIC, "b")])
    assert tracker.probability() == 0.0
    # the writer's own age signal is not context for them
    tracker = PatternTracker(cfg)
    tracker.add("a", [_finding("secrecy", "a"), _finding("meeting", "a")])
    alone = tracker.probability()
    tracker.add("a", [_finding(VICTIM_TACTIC, "a")])
    assert tracker.probability() == alone
    tracker.add("b", [_finding(VICTIM_TACTIC, "b")])
    assert tracker.probability() > alone


def test_messages_without_an_author_make_no_pattern_by_default(det: Detector) -> None:
    cfg = _fusion(det)
    assert not cfg.anonymous_patterns
    heavy = [_finding(name, None, i) for i, name in enumerate(("secrecy", "meeting", "isolation"))]
    tracker = PatternTracker(cfg)
    tracker.add(None, heavy)
    assert tracker.best is None
    assert tracker.probability() == 0.0
    # an unattributed age signal is still context for an author's pattern
    tracker.add(None, [_finding(VICTIM_TACTIC, None)])
    tracker.add("a", [_finding("secrecy", "a"), _finding("meeting", "a")])
    best = tracker.best
    assert best is not None
    assert best.author == "a"
    assert best.victim
    # with the option on, the unknown author's findings pool into one pattern
    pooled = PatternTracker(dataclasses.replace(cfg, anonymous_patterns=True))
    pooled.add(None, heavy)
    assert pooled.best is not None
    assert pooled.best.author is None
    assert pooled.probability() > 0.0


def test_models_saved_before_the_option_keep_pooling_unknown_authors(det: Detector) -> None:
    saved = _fusion(det).to_dict()
    assert saved["anonymous_patterns"] is False
    del saved["anonymous_patterns"]
    assert FusionConfig.from_dict(saved).anonymous_patterns is True


def test_declared_adult_to_child_raises_risk(det: Detector, convs: dict[str, Conversation]) -> None:
    conv = convs["neutral-pattern-roles"]
    unknown = dataclasses.replace(
        conv, participants=tuple(Participant(p.id) for p in conv.participants)
    )
    peers = dataclasses.replace(
        conv, participants=tuple(Participant(p.id, Role.CHILD, 12) for p in conv.participants)
    )
    with_roles, without, between_children = det.assess(conv), det.assess(unknown), det.assess(peers)
    assert with_roles.components["context"] > 0.0
    assert without.components["context"] == 0.0
    assert between_children.components["context"] == 0.0
    assert with_roles.risk > without.risk
    assert with_roles.risk > between_children.risk
    # an adult by stated age counts as an adult
    aged = dataclasses.replace(
        conv,
        participants=(Participant("dan", Role.UNKNOWN, 34), Participant("pia", Role.UNKNOWN, 12)),
    )
    assert det.assess(aged).risk == pytest.approx(with_roles.risk, abs=1e-12)


@pytest.mark.parametrize("cid", ["friends-homework", "neutral-pattern-roles"])
def test_batch_equals_streaming_with_the_fusion(
    det: Detector, convs: dict[str, Conversation], cid: str
) -> None:
    conv = convs[cid]
    a = det.assess(conv)
    mon = det.monitor(participants=conv.participants)
    updates = [mon.update(m) for m in conv.messages]
    assert [u.risk for u in updates] == pytest.approx(list(a.risk_history), abs=1e-12)
    assert mon.first_alert == a.first_alert
    assert updates[-1].components == pytest.approx(a.components, abs=1e-12)


def test_state_round_trip_mid_stream_keeps_the_pattern(
    det: Detector, convs: dict[str, Conversation]
) -> None:
    conv = convs["neutral-pattern-roles"]
    straight = det.monitor(participants=conv.participants)
    expected = [straight.update(m).to_dict() for m in conv.messages]
    for cut in (1, 5, 6):
        first = det.monitor(participants=conv.participants)
        got = [first.update(m).to_dict() for m in conv.messages[:cut]]
        state = json.loads(json.dumps(first.state_dict()))
        assert "pia" in json.dumps(state["pattern"])  # ids only: no message text
        restored = det.monitor(state=state)  # keeps the participants it was started with
        got += [restored.update(m).to_dict() for m in conv.messages[cut:]]
        assert got == expected
        assert restored.state_dict() == straight.state_dict()
    damaged = straight.state_dict()
    damaged["pattern"] = {**damaged["pattern"], "own": [["dan", ["not_a_tactic", "secrecy"]]]}
    with pytest.raises(MonitorStateError):
        det.monitor(state=damaged)
    missing = {k: v for k, v in straight.state_dict().items() if k != "pattern"}
    with pytest.raises(MonitorStateError):
        det.monitor(state=missing)


def test_ordinary_chat_does_not_warn_and_neutral_pattern_with_roles_does(
    det: Detector, convs: dict[str, Conversation]
) -> None:
    ordinary = det.assess(convs["friends-homework"])
    assert not ordinary.flagged
    assert ordinary.first_alert is None
    pattern = det.assess(convs["neutral-pattern-roles"])
    assert pattern.flagged
    assert pattern.first_alert is not None
    assert pattern.suspect == "dan"
    assert pattern.components["tactics"] > pattern.components["language"]


def test_scan_contract_is_unchanged_and_full_dict_has_components(
    det: Detector, convs: dict[str, Conversation]
) -> None:
    a = det.assess(convs["neutral-pattern-roles"])
    assert list(a.to_dict()) == ["id", "risk", "flagged", "first_alert", "suspect", "tactics"]
    full = a.to_full_dict()
    assert set(full["components"]) == {"language", "tactics", "context"}


def test_fusion_config_round_trip_and_driver_line(det: Detector) -> None:
    cfg = _fusion(det)
    assert FusionConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert cfg.ramp(0.0) == 0.0 or cfg.ramp_tokens == 0.0
    assert cfg.ramp(10 * cfg.ramp_tokens + 1.0) == 1.0
    assert (
        "tactic pattern"
        in describe_driver({"language": 0.1, "tactics": 0.95, "context": 0.0}, 0.8).split(";")[0]
    )
    assert (
        "language model"
        in describe_driver({"language": 0.95, "tactics": 0.1, "context": 0.0}, 0.8).split(";")[0]
    )
    assert "context" in describe_driver({"language": 0.1, "tactics": 0.5, "context": 0.4}, 0.8)
    assert describe_driver({"language": 0.1, "tactics": 0.0, "context": 0.0}, 0.8).startswith(
        "No component"
    )


def test_report_says_which_component_drove_the_risk(
    det: Detector, convs: dict[str, Conversation]
) -> None:
    conv = convs["neutral-pattern-roles"]
    a = det.assess(conv)
    page = render_report(det, [(conv, a)], det.default_policy.threshold)
    assert '<p class="driver">Driven by the tactic pattern' in page


def test_a_pattern_of_the_warning_strength_reaches_the_threshold(det: Detector) -> None:
    cfg = _fusion(det)
    threshold = det.default_policy.threshold
    assert cfg.pattern_to_warn is not None
    # Three of the heaviest tactics from one author reach it without any help from the text.
    heavy = [t for t, v in cfg.severity.items() if v == 2.0 and t not in cfg.sufficient]
    tracker = PatternTracker(cfg)
    tracker.add("a", [_finding(t, "a", i) for i, t in enumerate(heavy[:2])])
    assert tracker.best is not None
    assert tracker.best.tactic_logit < cfg.pattern_to_warn
    assert fused_step(cfg, cfg.prior, 0.0, tracker)[0] < threshold
    tracker.add("a", [_finding(heavy[2], "a", 2)])
    assert tracker.best is not None
    assert tracker.best.tactic_logit >= cfg.pattern_to_warn
    assert fused_step(cfg, cfg.prior, 0.0, tracker)[0] >= threshold - 1e-9


def test_fusion_settings_of_older_models_keep_their_meaning(det: Detector) -> None:
    old = _fusion(det).to_dict()
    del old["pattern_to_warn"], old["sufficient"]
    restored = FusionConfig.from_dict(old)
    assert restored.pattern_to_warn is None
    assert restored.sufficient == ()
    tracker = PatternTracker(restored)
    tracker.add("a", [_finding("extortion", "a")])
    assert tracker.best is None  # one tactic alone, as before
    assert FusionConfig.from_dict(_fusion(det).to_dict()) == _fusion(det)
