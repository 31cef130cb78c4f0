"""Ages people state about themselves in chat: "im 13", "i'm 14 years old", "13 f", "13/f/ny",
"age: 15", "im thirteen", "i just turned 14", "in 8th grade", "year 9" (UK school year).

:func:`stated_ages` returns every self-statement it can parse, adults included (the legal checks
need "adult" as much as the ``victim_age_signal`` tactic needs "under 18"). Statements about
someone else ("my sister is 12") and numbers that are not ages ("im 5 min away", "im 20 miles
out") are left out. A school grade gives the youngest usual age for it (US grade + 5, UK year +
4), marked ``from_school=True``. Spanish "tengo 13 años" and French "j'ai 13 ans" are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from groomwatch.detect.tactics.base import PreparedText, prepare

__all__ = ["AGE_ANCHORS", "AGE_CONTEXT", "StatedAge", "stated_ages"]

_WORD_NUMBERS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
}
_NUM = r"(?P<n>\d{1,2}|" + "|".join(_WORD_NUMBERS) + r")"
# What may follow "im 5" when 5 is not an age.
_NOT_AGE_AFTER = (
    r"(?!\s*(?:min|mins|minute|minutes|sec|secs|seconds|hour|hours|hr|hrs|h\b|mi\b|mile|miles|"
    r"km|k\b|kms|feet|ft|foot|inch|inches|cm|lbs|lb|pounds|kg|kilos|stone|dollars|bucks|"
    r"euros|%|\$|:|\.\d|,\d|pm|am|o'?clock|times|x\b|th\b|st\b|nd\b|rd\b|days|weeks|months|"
    r"people|of\b|out of|kids|children|sons|daughters|grand|percent|points|cups|beers|shots|"
    r"degrees|songs|levels|games|hundred|thousand|bucks|grand))"
)
_YEARS_OLD = r"(?:years?\s*old|yrs?\s*old|yr\s*old|y/?o\b|y\.o\.?|yo\b)"
_GENDER = r"(?:f|m|female|male|girl|boy|fem)"

_SELF = re.compile(
    r"\b(?:i'?m|i\s+am|am|iam|i'?ll\s+be|i\s+will\s+be|i\s+turn(?:ed)?|i\s+just\s+turned|"
    r"just\s+turned|i'?m\s+turning|turning|my\s+age\s+is|age\s*[:=]|age\s+is|aged)\s+"
    r"(?:only\s+|just\s+|almost\s+|nearly\s+|like\s+|about\s+|actually\s+|really\s+|now\s+)?"
    + _NUM
    + r"\b"
    + _NOT_AGE_AFTER
)
_YEARS = re.compile(r"\b" + _NUM + r"\s*(?:-\s*)?" + _YEARS_OLD)
_ASL = re.compile(
    r"(?:^|[\s,;:(])" + r"(?P<n>\d{1,2})\s*(?:[/,\-]\s*|\s+)?" + _GENDER + r"(?:\b|/)"
    r"|\b" + _GENDER + r"\s*[/,\-]\s*(?P<n2>\d{1,2})\b"
)
_GRADE = re.compile(
    r"\b(?:in|into|starting|start|finished|finishing|going\s+(?:in)?to|doing)\s+(?:the\s+)?"
    r"(?:(?P<g>\d{1,2})(?:st|nd|rd|th)?|(?P<gw>" + "|".join(_ORDINALS) + r"))\s+grade\b"
    r"|\b(?:(?P<g2>\d{1,2})(?:st|nd|rd|th)|(?P<gw2>" + "|".join(_ORDINALS) + r"))\s+grader?\b"
)
# Spanish "tengo 13 años" and French "j'ai 13 ans" (apostrophes are removed: "jai").
_OTHER_LANGUAGES = re.compile(
    r"\b(?:tengo|cumpl[ií]|cumplo|jai|j\s+ai|jai\s+eu)\s+(?:solo\s+|s[oó]lo\s+|juste\s+|seulement\s+)?"
    r"(?P<n>\d{1,2})\s*(?:a[nñ]os|anos|ans)\b"
)
_UK_YEAR = re.compile(r"\b(?:in|into|starting|doing)\s+year\s+(?P<y>\d{1,2})\b(?!\s*(?:old|s\b))")
# Someone else's age, just before the number: "my sister is", "she's", "he is", "my son"
_OTHER = re.compile(
    r"(?:\b(?:my|his|her|their|our|your|ur)\s+(?:\w+\s+){0,2}(?:is|was|s)?\s*|"
    r"\b(?:he|she|they|it)(?:'?s|\s+is|\s+was|\s+are)\s+(?:only\s+|just\s+)?)$"
)

#: Words one of which a message stating an age must contain (the registry's prefilter).
AGE_ANCHORS: frozenset[str] = frozenset(
    {str(n) for n in range(5, 100)}
    | {f"{n}{s}" for n in range(5, 100) for s in ("f", "m", "yo", "yrs", "yr", "th", "st", "nd")}
    | {f"{n}{s}" for n in range(5, 100) for s in ("rd", "yrsold", "yearsold", "yrold")}
    | set(_WORD_NUMBERS)
    | set(_ORDINALS)
    | {"grade", "grader", "year", "age", "aged"}
)


#: Words of which a message stating an age contains at least one besides the number ("im",
#: "years", "f", "grade", ...), or a number fused with its unit ("13f", "14yo").
AGE_CONTEXT: frozenset[str] = frozenset(
    {"im", "i", "am", "iam", "ill", "age", "aged", "turn", "turned", "turning", "yo", "yrs", "yr"}
    | {"years", "year", "old", "f", "m", "female", "male", "girl", "boy", "fem", "grade", "grader"}
    | {"o", "y", "tengo", "cumpli", "cumplí", "cumplo", "jai", "ai", "años", "anos", "ans"}
    | (AGE_ANCHORS - {str(n) for n in range(5, 100)} - set(_WORD_NUMBERS))
)


@dataclass(frozen=True, slots=True)
class StatedAge:
    """An age stated in a message: ``age`` in years and the span ``text[start:end]``."""

    age: int
    start: int
    end: int
    from_school: bool = False


def _number(word: str) -> int:
    return int(word) if word.isdigit() else _WORD_NUMBERS[word]


def _about_someone_else(lower: str, start: int) -> bool:
    return _OTHER.search(lower, max(0, start - 30), start) is not None


def stated_ages(text: str | PreparedText) -> list[StatedAge]:
    """Every age the writer states about themselves, in order of position (one per span)."""
    p = text if isinstance(text, PreparedText) else prepare(text)
    if p.tokens.isdisjoint(AGE_CONTEXT):
        return []
    lower = p.lower
    found: dict[int, StatedAge] = {}

    def add(age: int, start: int, end: int, from_school: bool = False) -> None:
        if not 5 <= age <= 99:
            return
        if any(s.start <= start < s.end or start <= s.start < end for s in found.values()):
            return
        found[start] = StatedAge(age, start, end, from_school)

    for m in _SELF.finditer(lower):
        add(_number(m.group("n")), m.start(), m.end())
    for m in _OTHER_LANGUAGES.finditer(lower):
        add(int(m.group("n")), m.start(), m.end())
    for m in _YEARS.finditer(lower):
        if not _about_someone_else(lower, m.start()):
            add(_number(m.group("n")), m.start(), m.end())
    for m in _ASL.finditer(lower):
        n = m.group("n") or m.group("n2")
        start = m.start() + (1 if lower[m.start()] in " \t\n,;:(" else 0)
        if not _about_someone_else(lower, start):
            add(int(n), start, m.end())
    for m in _GRADE.finditer(lower):
        raw = m.group("g") or m.group("g2")
        grade = int(raw) if raw else _ORDINALS[m.group("gw") or m.group("gw2")]
        if 1 <= grade <= 12 and not _about_someone_else(lower, m.start()):
            add(grade + 5, m.start(), m.end(), from_school=True)
    for m in _UK_YEAR.finditer(lower):
        year = int(m.group("y"))
        if 1 <= year <= 13 and not _about_someone_else(lower, m.start()):
            add(year + 4, m.start(), m.end(), from_school=True)
    return [found[k] for k in sorted(found)]
