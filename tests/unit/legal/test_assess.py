"""Legal elements on short synthetic conversations (non-graphic, written for the project)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from groomwatch.conversation import Conversation, Message, Participant, Role
from groomwatch.detect.tactics import Finding, default_registry
from groomwatch.errors import InputError
from groomwatch.legal import DISCLAIMER, LegalAssessment, assess_legal

ADULT, CHILD = "adult1", "kid1"

LINES = [
    (ADULT, "hey, you seem really mature for your age", "2024-03-01T18:00:00Z"),
    (CHILD, "thanks lol im 13", "2024-03-01T18:01:00Z"),
    (ADULT, "im 34, does my age bother you?", "2024-03-01T18:02:00Z"),
    (CHILD, "no its ok", "2024-03-01T18:03:00Z"),
    (ADULT, "dont tell your mom about me ok, its our secret", "2024-03-03T19:00:00Z"),
    (
        ADULT,
        "we should meet up sometime. i can pick u up after school saturday",
        "2024-03-03T19:01:00Z",
    ),
    (ADULT, "have you ever been kissed", "2024-03-03T19:02:00Z"),
    (CHILD, "idk", "2024-03-03T19:03:00Z"),
    (ADULT, "on my way, im at the station", "2024-03-09T15:00:00Z"),
]


def _conversation(lines: list[tuple[str, str, str | None]], **kw: object) -> Conversation:
    return Conversation(
        id="c1",
        messages=tuple(Message(text=t, author=a, time=tm) for a, t, tm in lines),
        **kw,  # type: ignore[arg-type]
    )


def _findings(conv: Conversation) -> list[Finding]:
    registry = default_registry()
    return registry.find_all([m.text for m in conv.messages], [m.author for m in conv.messages])


def _by_key(assessment: LegalAssessment) -> dict[str, tuple[str, tuple[int, ...]]]:
    return {e.key: (e.status, e.messages) for e in assessment.elements}


def _assess(conv: Conversation, **kw: object) -> dict[str, LegalAssessment]:
    return {a.framework: a for a in assess_legal(conv, _findings(conv), **kw)}  # type: ignore[arg-type]


def test_uk_s15_all_elements_supported() -> None:
    conv = _conversation(LINES)
    uk = _assess(conv, suspect=ADULT)["uk_soa_2003_s15"]
    assert _by_key(uk) == {
        "adult": ("supported", (2,)),
        "child_under_16": ("supported", (1,)),
        "two_occasions": ("supported", (0, 4, 8)),
        "meeting_arranged": ("supported", (5,)),
        "travel_or_turning_up": ("supported", (8,)),
        "sexual_intent": ("supported", (6,)),
    }
    assert uk.all_supported
    assert uk.summary.startswith("6 of 6 elements supported")
    assert uk.disclaimer == DISCLAIMER
    data = uk.to_dict()
    assert data["framework"] == "uk_soa_2003_s15"
    assert data["elements"][0]["supported"] is True
    assert "not legal advice" in data["disclaimer"]


def test_suspect_is_inferred_from_the_findings() -> None:
    conv = _conversation(LINES)
    with_suspect = assess_legal(conv, _findings(conv), suspect=ADULT)
    inferred = assess_legal(conv, _findings(conv))
    assert with_suspect == inferred


def test_missing_times_cannot_tell_occasions() -> None:
    conv = _conversation([(a, t, None) for a, t, _ in LINES])
    uk = _assess(conv, suspect=ADULT)["uk_soa_2003_s15"]
    status, messages = _by_key(uk)["two_occasions"]
    assert status == "cannot_tell"
    assert messages == ()
    assert "cannot tell" in uk.summary


def test_one_sitting_is_one_occasion() -> None:
    lines = [(a, t, f"2024-03-01T18:{i:02d}:00Z") for i, (a, t, _) in enumerate(LINES)]
    uk = _assess(_conversation(lines), suspect=ADULT)["uk_soa_2003_s15"]
    assert _by_key(uk)["two_occasions"][0] == "not_supported"


def test_time_of_day_only_rolls_over_to_the_next_day() -> None:
    # PAN 2012 style: times of day only. 23:50 then 00:10 is one occasion; 09:00 is another.
    times = ["23:50", "23:51", "23:52", "23:53", "00:10", "00:11", "00:12", "00:13", "09:00"]
    lines = [(a, t, tm) for (a, t, _), tm in zip(LINES, times, strict=True)]
    uk = _assess(_conversation(lines), suspect=ADULT)["uk_soa_2003_s15"]
    assert _by_key(uk)["two_occasions"] == ("supported", (0, 8))


def test_travel_before_a_second_occasion_does_not_count_for_s15() -> None:
    # Everything in one sitting, then nothing: travel cannot follow two occasions.
    lines = [*LINES[:1], (ADULT, "on my way", "2024-03-01T18:05:00Z"), *LINES[4:8]]
    uk = _assess(_conversation(lines), suspect=ADULT)["uk_soa_2003_s15"]
    status, messages = _by_key(uk)["travel_or_turning_up"]
    assert status == "not_supported"
    assert messages == (1,)
    assert _by_key(uk)["two_occasions"] == ("supported", (0, 2))


def test_child_16_is_not_under_16_but_is_a_minor_in_the_us() -> None:
    lines = list(LINES)
    lines[1] = (CHILD, "thanks lol im 16", LINES[1][2])
    result = _assess(_conversation(lines), suspect=ADULT)
    assert _by_key(result["uk_soa_2003_s15"])["child_under_16"][0] == "not_supported"
    assert _by_key(result["us_18_usc_2422b"])["child_under_18"] == ("supported", (1,))


def test_implied_child_without_age_cannot_tell() -> None:
    lines = list(LINES)
    lines[1] = (CHILD, "thanks lol, i go to middle school", LINES[1][2])
    uk = _assess(_conversation(lines), suspect=ADULT)["uk_soa_2003_s15"]
    assert _by_key(uk)["child_under_16"] == ("cannot_tell", (1,))


def test_age_from_participant_records() -> None:
    lines = [
        (a, t, tm)
        for a, t, tm in LINES
        if t not in ("thanks lol im 13", "im 34, does my age bother you?")
    ]
    conv = _conversation(
        lines,
        participants=(
            Participant(id=ADULT, role=Role.ADULT, age=40),
            Participant(id=CHILD, role=Role.CHILD, age=12),
        ),
    )
    uk = _assess(conv, suspect=ADULT)["uk_soa_2003_s15"]
    assert _by_key(uk)["adult"] == ("supported", ())
    assert _by_key(uk)["child_under_16"] == ("supported", ())


def test_suspect_claiming_to_be_a_teen_is_not_shown_adult() -> None:
    lines = list(LINES)
    lines[2] = (ADULT, "im 15 too lol", LINES[2][2])
    uk = _assess(_conversation(lines), suspect=ADULT)["uk_soa_2003_s15"]
    assert _by_key(uk)["adult"] == ("not_supported", (2,))


def test_talk_only_has_no_travel_and_no_material_acts() -> None:
    lines = [LINES[0], LINES[1], LINES[4], (ADULT, "we should meet up sometime", None)]
    result = _assess(_conversation(lines), suspect=ADULT)
    assert _by_key(result["uk_soa_2003_s15"])["travel_or_turning_up"][0] == "not_supported"
    assert _by_key(result["lanzarote_art23"])["proposal_to_meet"] == ("supported", (3,))
    assert _by_key(result["lanzarote_art23"])["material_acts"][0] == "not_supported"
    # 2422(b): arranging a meeting is itself a substantial step.
    assert _by_key(result["us_18_usc_2422b"])["substantial_step"] == ("supported", (3,))
    # ... but without any sexual topic there is no enticement to sexual activity.
    assert _by_key(result["us_18_usc_2422b"])["enticement"][0] == "not_supported"


def test_gifts_are_a_material_act_and_a_substantial_step() -> None:
    lines = [*LINES[:7], (ADULT, "i can buy you a new phone", None)]
    result = _assess(_conversation(lines), suspect=ADULT)
    assert 7 in _by_key(result["lanzarote_art23"])["material_acts"][1]
    assert 7 in _by_key(result["us_18_usc_2422b"])["substantial_step"][1]


def test_lanzarote_22_showing_material() -> None:
    lines = [
        *LINES[:2],
        (ADULT, "look at this video i found", None),
        (ADULT, "do you know about sex", None),
    ]
    art22 = _assess(_conversation(lines), suspect=ADULT)["lanzarote_art22"]
    assert _by_key(art22) == {
        "child_under_16": ("supported", (1,)),
        "caused_to_witness": ("supported", (2,)),
        "sexual_purpose": ("supported", (3,)),
    }


def test_frameworks_filter_and_unknown_framework() -> None:
    conv = _conversation(LINES)
    only = assess_legal(conv, _findings(conv), frameworks=["us_18_usc_2422b"])
    assert [a.framework for a in only] == ["us_18_usc_2422b"]
    with pytest.raises(InputError, match="unknown framework 'fr_code_penal'"):
        assess_legal(conv, _findings(conv), frameworks=["fr_code_penal"])


def test_accepts_an_assessment_like_object() -> None:
    @dataclass
    class Result:
        findings: tuple[Finding, ...]
        suspect: str | None

    conv = _conversation(LINES)
    findings = tuple(_findings(conv))
    assert assess_legal(conv, Result(findings, ADULT)) == assess_legal(
        conv, findings, suspect=ADULT
    )


def test_no_authors_uses_every_message() -> None:
    conv = _conversation([(None, t, tm) for _, t, tm in LINES])  # type: ignore[misc]
    uk = _assess(conv)["uk_soa_2003_s15"]
    statuses = _by_key(uk)
    assert statuses["adult"][0] == "cannot_tell"
    assert statuses["meeting_arranged"] == ("supported", (5,))


def test_empty_conversation() -> None:
    conv = Conversation(id="empty")
    for assessment in assess_legal(conv, []):
        assert not assessment.all_supported


def test_config_override_changes_the_age_of_consent(tmp_path: Path) -> None:
    lines = list(LINES)
    lines[1] = (CHILD, "thanks lol im 15", LINES[1][2])
    conv = _conversation(lines)
    path = tmp_path / "legal.yaml"
    path.write_text("frameworks:\n  lanzarote_art23:\n    child_under: 15\n", encoding="utf-8")
    default = _by_key(_assess(conv, suspect=ADULT)["lanzarote_art23"])
    local = _by_key(_assess(conv, suspect=ADULT, config_path=path)["lanzarote_art23"])
    assert default["child_under_16"][0] == "supported"
    assert local["child_under_15"][0] == "not_supported"


def test_config_override_cues(tmp_path: Path) -> None:
    path = tmp_path / "legal.yaml"
    path.write_text(
        "cues:\n  travel:\n    - {id: arrived_fr, pattern: '\\bje suis la\\b'}\n", encoding="utf-8"
    )
    lines = [*LINES[:8], (ADULT, "je suis la", "2024-03-09T15:00:00Z")]
    uk = _assess(_conversation(lines), suspect=ADULT, config_path=path)["uk_soa_2003_s15"]
    assert _by_key(uk)["travel_or_turning_up"] == ("supported", (8,))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "frameworks:\n  uk_soa_2003_s15:\n    child_under: 3\n",
            "frameworks.uk_soa_2003_s15.child_under",
        ),
        ("occasion_gap_hours: -1\n", "occasion_gap_hours"),
        ("cues:\n  travel:\n    - {id: x, pattern: '(open'}\n", "cues.travel.x.pattern"),
        ("frameworks: [1\n", "not valid YAML"),
        ("colour: red\n", "colour"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "legal.yaml"
    path.write_text(text, encoding="utf-8")
    conv = _conversation(LINES)
    with pytest.raises(InputError) as info:
        assess_legal(conv, [], config_path=path)
    assert str(path) in str(info.value)
    assert fragment in str(info.value)


def test_findings_by_the_child_do_not_count_against_the_suspect() -> None:
    conv = _conversation(LINES)
    findings = [replace(f, author=CHILD) if f.tactic == "meeting" else f for f in _findings(conv)]
    uk = {a.framework: a for a in assess_legal(conv, findings, suspect=ADULT)}["uk_soa_2003_s15"]
    assert _by_key(uk)["meeting_arranged"][0] == "not_supported"
