"""Stated ages and the victim_age_signal tactic."""

from __future__ import annotations

import pytest

from groomwatch.detect.tactics import default_registry
from groomwatch.detect.tactics.ages import stated_ages
from groomwatch.detect.tactics.victim_age_signal import age_score


@pytest.mark.parametrize(
    ("text", "age", "evidence"),
    [
        ("im 13", 13, "im 13"),
        ("I'm 14 years old", 14, "I'm 14"),
        ("i am only 12", 12, "i am only 12"),
        ("13 f", 13, "13 f"),
        ("13/f/ny", 13, "13/f"),
        ("asl? f/13", 13, "f/13"),
        ("14yo here", 14, "14yo"),
        ("15 yrs old", 15, "15 yrs old"),
        ("age: 15", 15, "age: 15"),
        ("im thirteen", 13, "im thirteen"),
        ("i just turned 14 lol", 14, "i just turned 14"),
        ("ill be 15 next month", 15, "ill be 15"),
        ("im 25", 25, "im 25"),
        ("I\u2019m 16", 16, "I\u2019m 16"),
    ],
)
def test_stated_age(text: str, age: int, evidence: str) -> None:
    ages = stated_ages(text)
    assert [a.age for a in ages] == [age]
    found = default_registry().get("victim_age_signal").find(text, 0)
    if age < 18:
        assert found[0].age == age
        assert found[0].evidence == evidence
    else:
        assert found == []


@pytest.mark.parametrize(
    ("text", "age"),
    [("im in 8th grade", 13), ("in seventh grade", 12), ("im a 9th grader", 14), ("in year 9", 13)],
)
def test_school_grade_gives_an_age(text: str, age: int) -> None:
    ages = stated_ages(text)
    assert [(a.age, a.from_school) for a in ages] == [(age, True)]


@pytest.mark.parametrize(
    "text",
    [
        "my sister is 12",
        "my little brother is 13 years old",
        "she is 14",
        "im 5 min away",
        "im 20 miles out",
        "i have 13 cats",
        "its 13 f outside",
        "level 13 is hard",
        "i scored 15 points",
        "",
    ],
)
def test_not_a_self_stated_age(text: str) -> None:
    assert stated_ages(text) == []


def test_youngest_age_wins_and_multiple_ages_are_listed() -> None:
    text = "im 15 lol, well 14 f really"
    assert [a.age for a in stated_ages(text)] == [15, 14]
    found = default_registry().get("victim_age_signal").find(text, 2, "kid")
    assert found[0].age == 14
    assert found[0].message == 2
    assert found[0].author == "kid"


def test_scores_decrease_with_age_and_are_zero_for_adults() -> None:
    assert age_score(12) > age_score(15) > age_score(17) > 0.0
    assert age_score(18) == 0.0
    assert age_score(13, from_school=True) < age_score(13)


def test_stated_age_beats_weaker_implied_cue() -> None:
    found = default_registry().get("victim_age_signal").find("im 13 and im grounded", 0)
    assert found[0].age == 13
    implied = default_registry().get("victim_age_signal").find("im grounded again", 0)
    assert implied[0].age is None
    assert implied[0].cue == "victim_age_signal/grounded"


def test_adult_age_with_child_cue_keeps_the_cue() -> None:
    found = default_registry().get("victim_age_signal").find("im 30, i go to middle school", 0)
    assert found[0].age is None
    assert found[0].cue == "victim_age_signal/school_stage"
