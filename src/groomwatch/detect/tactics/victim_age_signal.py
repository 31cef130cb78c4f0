"""Victim age signal: the other participant states or implies being under 18."""

from __future__ import annotations

from groomwatch.detect.tactics.ages import AGE_ANCHORS, stated_ages
from groomwatch.detect.tactics.base import Finding, PreparedText, Tactic

#: Age of majority used by this tactic: everyone under 18 is a child (ECPAT, Lanzarote, UNCRC).
ADULT_AGE = 18


def age_score(age: int, *, from_school: bool = False) -> float:
    """The score of a stated age: highest for the youngest children, 0 for adults. An age worked
    out from a school grade is less certain than one stated in years."""
    if age >= ADULT_AGE:
        return 0.0
    if age <= 13:
        score = 0.95
    elif age <= 15:
        score = 0.9
    else:
        score = 0.75
    return score - 0.1 if from_school else score


class VictimAgeSignal(Tactic):
    name = "victim_age_signal"
    title = "The child's age"
    description = (
        "Someone in the conversation says or implies they are under 18: states an age ('im 13', "
        "'14 f'), a school grade or year, or speaks of things that mark a child (middle school, "
        "being grounded, a parent's rules). Grooming is aimed at children; 13 is the most common "
        "age of the targeted child in police records. The stated age is in the finding."
    )
    examples = (
        "im 13",
        "i'm 14 years old",
        "13 f",
        "im in 8th grade",
        "im thirteen",
        "i cant, im grounded",
        "i go to middle school",
    )
    counter_examples = (
        "im 25",
        "my sister is 12",
        "im 5 min away",
        "i have 13 cats",
        "im 30 years old",
    )

    extra_anchors = AGE_ANCHORS

    def match_extra(
        self, text: PreparedText, index: int, author: str | None, found: list[Finding]
    ) -> list[Finding]:
        """The youngest stated age under 18 if there is one (its span as evidence, the age in
        ``age``), unless an implied-age cue in ``found`` scores higher."""
        best: Finding | None = None
        for stated in stated_ages(text):
            score = age_score(stated.age, from_school=stated.from_school)
            if score <= 0.0:
                continue
            if best is not None and (
                score < best.score or (score == best.score and (best.age or 0) <= stated.age)
            ):
                continue
            start, end = text.span(stated.start, stated.end)
            best = Finding(
                tactic=self.name,
                message=index,
                score=score,
                evidence=text.text[start:end],
                start=start,
                end=end,
                author=author,
                cue=f"{self.name}/{'school_grade' if stated.from_school else 'stated_age'}",
                age=stated.age,
            )
        if best is None or (found and found[0].score > best.score):
            return found
        return [best]
