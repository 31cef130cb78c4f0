"""Which elements of a legal framework the evidence in a conversation supports.

Advisory only, not legal advice: groomwatch reads chat text; it cannot know who really wrote it,
how old people really are, what happened off the chat, or what anyone intended. For each element
it says ``supported`` (with the messages behind it), ``not_supported`` (nothing in the chat shows
it), or ``cannot_tell`` (the chat lacks what is needed, e.g. message times), and why.

Frameworks (from the seed documents and DESIGN.md, "Legal elements"):

- ``uk_soa_2003_s15``: an adult communicates with a child under 16 on at least two occasions,
  then meets or travels to meet them (or arranges to meet and turns up), intending a sexual
  offence.
- ``lanzarote_art23``: an adult proposes, through ICT, to meet a child under the age of consent
  for sexual purposes, followed by material acts leading to the meeting.
- ``lanzarote_art22``: causing a child under the age of consent, for sexual purposes, to witness
  sexual abuse or sexual activities.
- ``us_18_usc_2422b``: using a means of interstate commerce (the internet) to persuade, induce,
  entice or coerce a minor under 18 to sexual activity, with intent shown beyond talk (a
  substantial step such as travel, gifts, or arranging a meeting).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, Literal, Protocol

from groomwatch.conversation import Conversation, Role
from groomwatch.detect.tactics.ages import stated_ages
from groomwatch.detect.tactics.base import Finding, prepare
from groomwatch.errors import InputError
from groomwatch.legal.config import FrameworkConfig, LegalConfig, load_legal_config

__all__ = [
    "DISCLAIMER",
    "ElementResult",
    "LegalAssessment",
    "Status",
    "assess_legal",
]

Status = Literal["supported", "not_supported", "cannot_tell"]

DISCLAIMER = (
    "Advisory only, not legal advice. groomwatch reads the chat text; it cannot verify who wrote "
    "it, anyone's real age, what happened outside the chat, or intent. A prosecutor or lawyer of "
    "the jurisdiction must assess the case; element tests here are simplified."
)

#: Meeting cues that show concrete arrangements or movement, not just an idea of meeting.
_CONCRETE_MEETING = frozenset(
    {"meeting/pick_up", "meeting/travel_to_you", "meeting/hotel_room", "meeting/on_my_way"}
)
#: A meeting finding this strong or stronger counts as a proposal or arrangement to meet.
_MEETING_MIN_SCORE = 0.5
_SEXUAL_PURPOSE = ("sexualisation", "image_request")


@dataclass(frozen=True, slots=True)
class ElementResult:
    """One element of a framework: ``status`` with the ``messages`` (indices) behind it and a
    ``note`` saying why."""

    key: str
    description: str
    status: Status
    messages: tuple[int, ...] = ()
    note: str = ""

    @property
    def supported(self) -> bool:
        return self.status == "supported"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "description": self.description,
            "status": self.status,
            "supported": self.supported,
            "messages": list(self.messages),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class LegalAssessment:
    """The elements of one framework for one conversation."""

    framework: str
    title: str
    elements: tuple[ElementResult, ...]
    summary: str
    disclaimer: str = DISCLAIMER

    @property
    def all_supported(self) -> bool:
        return all(e.supported for e in self.elements)

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "title": self.title,
            "elements": [e.to_dict() for e in self.elements],
            "all_supported": self.all_supported,
            "summary": self.summary,
            "disclaimer": self.disclaimer,
        }


class _HasFindings(Protocol):
    @property
    def findings(self) -> Sequence[Finding]: ...

    @property
    def suspect(self) -> str | None: ...


# --- facts drawn from the conversation ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Facts:
    suspect: str | None
    suspect_findings: tuple[Finding, ...]
    victim_age: int | None
    victim_age_messages: tuple[int, ...]
    victim_age_note: str
    implied_minor_messages: tuple[int, ...]
    adult: Status
    adult_messages: tuple[int, ...]
    adult_note: str
    occasions: tuple[int, ...] | None  # first message of each occasion; None: no usable times
    travel: tuple[int, ...]
    shows_material: tuple[int, ...]


def _infer_suspect(findings: Sequence[Finding]) -> str | None:
    weight: dict[str, float] = {}
    for f in findings:
        if f.author is not None and f.tactic != "victim_age_signal":
            weight[f.author] = weight.get(f.author, 0.0) + f.score
    if not weight:
        return None
    return max(weight, key=lambda a: weight[a])


def _by(conv: Conversation, suspect: str | None, *, suspect_side: bool) -> list[int]:
    """Indices of the suspect's messages (``suspect_side``) or of everyone else's; every message
    when no suspect is known."""
    if suspect is None:
        return list(range(len(conv.messages)))
    return [i for i, m in enumerate(conv.messages) if (m.author == suspect) == suspect_side]


def _parse_time(value: str | None) -> datetime | time | None:
    if not value:
        return None
    try:
        if "T" in value or "-" in value[:10]:
            dt = datetime.fromisoformat(value)
            return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt
        return time.fromisoformat(value)
    except ValueError:
        return None


def _occasions(
    conv: Conversation, indices: Sequence[int], gap_hours: float
) -> tuple[int, ...] | None:
    """The first message of each occasion among ``indices``: a new occasion starts after a gap of
    ``gap_hours`` or more. Times of day alone (PAN 2012) roll over to the next day when they go
    back by more than an hour. None when fewer than two thirds of the messages have a time."""
    parsed = [(i, _parse_time(conv.messages[i].time)) for i in indices]
    timed = [(i, t) for i, t in parsed if t is not None]
    if len(timed) < 2 or len(timed) * 3 < len(indices) * 2:
        return None
    full = [(i, t) for i, t in timed if isinstance(t, datetime)]
    gap = gap_hours * 3600.0
    starts: list[int] = []
    if len(full) >= 2:
        prev: datetime | None = None
        for i, t in full:
            if prev is None or (t - prev).total_seconds() >= gap:
                starts.append(i)
            prev = t
        return tuple(starts)
    day = 0.0
    prev_s: float | None = None
    for i, stamp in timed:
        tod = stamp.time() if isinstance(stamp, datetime) else stamp
        s = tod.hour * 3600 + tod.minute * 60 + tod.second + day
        if prev_s is not None and s < prev_s - 3600:
            day += 86400.0
            s += 86400.0
        if prev_s is None or s - prev_s >= gap:
            starts.append(i)
        prev_s = s
    return tuple(starts)


def _victim_age(
    conv: Conversation, findings: Sequence[Finding], suspect: str | None
) -> tuple[int | None, tuple[int, ...], str, tuple[int, ...]]:
    ages: list[tuple[int, int | None]] = []  # (age, message or None for a record)
    for p in conv.participants:
        if p.id != suspect and p.age is not None and (p.role is not Role.ADULT):
            ages.append((p.age, None))
    implied: list[int] = []
    for f in findings:
        if f.tactic != "victim_age_signal" or (suspect is not None and f.author == suspect):
            continue
        if f.age is not None:
            ages.append((f.age, f.message))
        else:
            implied.append(f.message)
    if not ages:
        return None, (), "", tuple(sorted(set(implied)))
    youngest = min(a for a, _ in ages)
    messages = tuple(sorted({m for a, m in ages if a == youngest and m is not None}))
    note = f"stated age {youngest}" if messages else f"age {youngest} from the participant record"
    return youngest, messages, note, tuple(sorted(set(implied)))


def _adult(
    conv: Conversation, suspect: str | None, indices: Sequence[int], adult_from: int = 18
) -> tuple[Status, tuple[int, ...], str]:
    if suspect is None:
        return "cannot_tell", (), "no suspect is known"
    record = conv.participant(suspect)
    if record is not None and record.age is not None:
        if record.age >= adult_from:
            return "supported", (), f"age {record.age} from the participant record"
        return "not_supported", (), f"age {record.age} from the participant record"
    stated: list[tuple[int, int]] = []
    for i in indices:
        for s in stated_ages(prepare(conv.messages[i].text)):
            if not s.from_school:
                stated.append((s.age, i))
    adult = [(a, i) for a, i in stated if a >= adult_from]
    if adult:
        return (
            "supported",
            tuple(sorted({i for _, i in adult})),
            f"the suspect states an age of {adult[0][0]}",
        )
    if record is not None and record.role is Role.ADULT:
        return "supported", (), "the participant record says adult"
    if stated:
        return (
            "not_supported",
            tuple(sorted({i for _, i in stated})),
            f"the suspect states an age of {stated[0][0]} (which may itself be a lie)",
        )
    return "cannot_tell", (), "the suspect's age is not stated and not on record"


def _scan(
    conv: Conversation, indices: Iterable[int], cues: Sequence[tuple[str, Any]]
) -> tuple[int, ...]:
    found = []
    for i in indices:
        lower = prepare(conv.messages[i].text).lower
        if any(pattern.search(lower) for _, pattern in cues):
            found.append(i)
    return tuple(found)


def _facts(
    conv: Conversation, findings: Sequence[Finding], suspect: str | None, config: LegalConfig
) -> _Facts:
    if suspect is None:
        suspect = _infer_suspect(findings)
    mine = _by(conv, suspect, suspect_side=True)
    theirs = _by(conv, suspect, suspect_side=False)
    age, age_msgs, age_note, implied = _victim_age(conv, findings, suspect)
    adult, adult_msgs, adult_note = _adult(conv, suspect, mine)
    suspect_findings = tuple(
        f
        for f in findings
        if f.tactic != "victim_age_signal" and (suspect is None or f.author == suspect)
    )
    return _Facts(
        suspect=suspect,
        suspect_findings=suspect_findings,
        victim_age=age,
        victim_age_messages=age_msgs,
        victim_age_note=age_note,
        implied_minor_messages=implied if theirs or suspect is None else (),
        adult=adult,
        adult_messages=adult_msgs,
        adult_note=adult_note,
        occasions=_occasions(conv, mine, config.occasion_gap_hours),
        travel=_scan(conv, mine, config.travel),
        shows_material=_scan(conv, mine, config.shows_material),
    )


# --- elements -----------------------------------------------------------------------------------


def _messages(
    findings: Iterable[Finding], *, tactics: Sequence[str], min_score: float = 0.0
) -> tuple[int, ...]:
    return tuple(
        sorted({f.message for f in findings if f.tactic in tactics and f.score >= min_score})
    )


def _adult_element(facts: _Facts, fw: FrameworkConfig) -> ElementResult:
    adult_from = fw.adult_from or 18
    return ElementResult(
        key="adult",
        description=f"The suspect is an adult ({adult_from} or over)",
        status=facts.adult,
        messages=facts.adult_messages,
        note=facts.adult_note,
    )


def _child_element(facts: _Facts, fw: FrameworkConfig) -> ElementResult:
    key = f"child_under_{fw.child_under}"
    description = f"The other participant is a child under {fw.child_under}"
    if facts.victim_age is not None:
        if facts.victim_age < fw.child_under:
            return ElementResult(
                key, description, "supported", facts.victim_age_messages, facts.victim_age_note
            )
        return ElementResult(
            key,
            description,
            "not_supported",
            facts.victim_age_messages,
            f"{facts.victim_age_note}, not under {fw.child_under}",
        )
    if facts.implied_minor_messages:
        return ElementResult(
            key,
            description,
            "cannot_tell",
            facts.implied_minor_messages,
            "the messages imply a child (school, parents' rules) but state no age",
        )
    return ElementResult(key, description, "cannot_tell", (), "no age is stated or on record")


def _two_occasions(facts: _Facts) -> ElementResult:
    key, description = (
        "two_occasions",
        "The suspect communicated with the child on at least two occasions",
    )
    if facts.occasions is None:
        return ElementResult(
            key, description, "cannot_tell", (), "the messages have no usable times"
        )
    if len(facts.occasions) >= 2:
        return ElementResult(
            key,
            description,
            "supported",
            facts.occasions,
            f"{len(facts.occasions)} occasions, separated by gaps in time",
        )
    return ElementResult(
        key,
        description,
        "not_supported",
        facts.occasions,
        "one occasion in this conversation (earlier contact elsewhere is not seen)",
    )


def _meeting(facts: _Facts, key: str, description: str) -> ElementResult:
    msgs = _messages(facts.suspect_findings, tactics=("meeting",), min_score=_MEETING_MIN_SCORE)
    if msgs:
        return ElementResult(
            key, description, "supported", msgs, "the suspect proposes or arranges a meeting"
        )
    return ElementResult(
        key, description, "not_supported", (), "no proposal or arrangement to meet"
    )


def _travel(facts: _Facts) -> ElementResult:
    key, description = (
        "travel_or_turning_up",
        "The suspect travels to the meeting or turns up at it",
    )
    concrete = tuple(
        sorted(
            {f.message for f in facts.suspect_findings if f.cue == "meeting/on_my_way"}
            | set(facts.travel)
        )
    )
    if concrete:
        return ElementResult(
            key,
            description,
            "supported",
            concrete,
            "messages say the suspect is on the way or has arrived",
        )
    return ElementResult(
        key,
        description,
        "not_supported",
        (),
        "nothing in the chat shows travel; it usually happens off the chat (police evidence)",
    )


def _sexual_purpose(facts: _Facts, key: str, description: str) -> ElementResult:
    msgs = _messages(facts.suspect_findings, tactics=_SEXUAL_PURPOSE)
    if msgs:
        return ElementResult(
            key,
            description,
            "supported",
            msgs,
            "sexual topics or requests for images indicate a sexual purpose; intent is for a court",
        )
    return ElementResult(
        key, description, "not_supported", (), "no sexual topic or image request by the suspect"
    )


def _material_acts(facts: _Facts, key: str, description: str) -> ElementResult:
    msgs = sorted(
        {f.message for f in facts.suspect_findings if f.cue in _CONCRETE_MEETING}
        | {f.message for f in facts.suspect_findings if f.tactic == "gifts_and_money"}
        | set(facts.travel)
    )
    if msgs:
        return ElementResult(
            key,
            description,
            "supported",
            tuple(msgs),
            "concrete steps: travel, pick-up or place arranged, gifts or money",
        )
    return ElementResult(
        key, description, "not_supported", (), "only talk; no concrete step in the chat"
    )


def _travel_after_two_occasions(facts: _Facts) -> ElementResult:
    """s.15: the travel or turning up comes after communication on two occasions. With times,
    only travel messages from the second occasion on count; without, order cannot be checked."""
    travel = _travel(facts)
    if not travel.supported:
        return travel
    if facts.occasions is None:
        return replace(
            travel, note=travel.note + "; order against the two occasions not checked (no times)"
        )
    if len(facts.occasions) < 2:
        return travel
    later = tuple(i for i in travel.messages if i >= facts.occasions[1])
    if later:
        return replace(travel, messages=later)
    return replace(
        travel,
        status="not_supported",
        note="the travel messages come before a second occasion of communication",
    )


def _uk_s15(facts: _Facts, fw: FrameworkConfig) -> tuple[ElementResult, ...]:
    return (
        _adult_element(facts, fw),
        _child_element(facts, fw),
        _two_occasions(facts),
        _meeting(facts, "meeting_arranged", "The suspect arranged to meet the child"),
        _travel_after_two_occasions(facts),
        _sexual_purpose(
            facts, "sexual_intent", "The suspect intends a sexual offence at the meeting"
        ),
    )


def _lanzarote_23(facts: _Facts, fw: FrameworkConfig) -> tuple[ElementResult, ...]:
    return (
        _adult_element(facts, fw),
        _child_element(facts, fw),
        _meeting(facts, "proposal_to_meet", "The suspect proposed, through ICT, to meet the child"),
        _sexual_purpose(facts, "sexual_purpose", "The proposal is for sexual purposes"),
        _material_acts(facts, "material_acts", "Material acts leading to the meeting followed"),
    )


def _lanzarote_22(facts: _Facts, fw: FrameworkConfig) -> tuple[ElementResult, ...]:
    key, description = (
        "caused_to_witness",
        "The suspect caused the child to witness sexual abuse or activities",
    )
    shown = sorted(
        set(facts.shows_material)
        | {f.message for f in facts.suspect_findings if f.cue == "sexualisation/pornography"}
    )
    witness = (
        ElementResult(
            key,
            description,
            "supported",
            tuple(shown),
            "the suspect shows or sends material, or talks of pornography; "
            "what was shown is not in the text",
        )
        if shown
        else ElementResult(
            key, description, "not_supported", (), "nothing shows material being shown to the child"
        )
    )
    return (
        _child_element(facts, fw),
        witness,
        _sexual_purpose(facts, "sexual_purpose", "It was done for sexual purposes"),
    )


def _us_2422b(facts: _Facts, fw: FrameworkConfig, conv: Conversation) -> tuple[ElementResult, ...]:
    interstate = ElementResult(
        "means_of_interstate_commerce",
        "The suspect used a facility of interstate commerce (the internet, a phone)",
        "supported" if conv.messages else "cannot_tell",
        (0,) if conv.messages else (),
        "the conversation took place online",
    )
    enticement_msgs = _messages(
        facts.suspect_findings,
        tactics=("sexualisation", "image_request", "meeting", "gifts_and_money", "trust_building"),
    )
    sexual = _messages(facts.suspect_findings, tactics=_SEXUAL_PURPOSE)
    enticement = (
        ElementResult(
            "enticement",
            "The suspect tried to persuade, induce, entice or coerce the minor to sexual activity",
            "supported",
            enticement_msgs,
            "flattery, gifts, meeting and sexual requests aimed at the child",
        )
        if sexual
        else ElementResult(
            "enticement",
            "The suspect tried to persuade, induce, entice or coerce the minor to sexual activity",
            "not_supported",
            (),
            "no sexual topic or request by the suspect",
        )
    )
    step = _material_acts(
        facts,
        "substantial_step",
        "Intent shown beyond talk: a substantial step (travel, gifts, arranging a meeting)",
    )
    if not step.supported:
        meeting = _meeting(facts, "substantial_step", step.description)
        if meeting.supported:
            step = ElementResult(
                step.key, step.description, "supported", meeting.messages, "a meeting was arranged"
            )
    return (interstate, _child_element(facts, fw), enticement, step)


_BUILDERS = {
    "uk_soa_2003_s15": lambda facts, fw, conv: _uk_s15(facts, fw),
    "lanzarote_art23": lambda facts, fw, conv: _lanzarote_23(facts, fw),
    "lanzarote_art22": lambda facts, fw, conv: _lanzarote_22(facts, fw),
    "us_18_usc_2422b": _us_2422b,
}


def _summary(elements: Sequence[ElementResult]) -> str:
    supported = [e for e in elements if e.status == "supported"]
    unknown = [e for e in elements if e.status == "cannot_tell"]
    missing = [e for e in elements if e.status == "not_supported"]
    parts = [f"{len(supported)} of {len(elements)} elements supported by the chat"]
    if missing:
        parts.append("not shown: " + "; ".join(e.description.lower() for e in missing))
    if unknown:
        parts.append("cannot tell: " + "; ".join(e.description.lower() for e in unknown))
    return ". ".join(parts) + "."


def assess_legal(
    conversation: Conversation,
    findings: Sequence[Finding] | _HasFindings,
    *,
    suspect: str | None = None,
    frameworks: Sequence[str] | None = None,
    config_path: Path | None = None,
) -> tuple[LegalAssessment, ...]:
    """The elements of each framework (all packaged ones by default) that the conversation's
    evidence supports. ``findings`` are the tactic findings of the conversation (or an object with
    ``findings`` and ``suspect``, e.g. the detector's ``Assessment``); ``suspect`` is the author
    thought to be the groomer (inferred from the findings when not given). ``config_path`` names a
    deployer file overriding the packaged thresholds and cues."""
    config = load_legal_config(config_path)
    if not isinstance(findings, Sequence):
        if suspect is None:
            suspect = findings.suspect
        findings = tuple(findings.findings)
    wanted = list(frameworks) if frameworks is not None else list(config.frameworks)
    for key in wanted:
        if key not in config.frameworks or key not in _BUILDERS:
            raise InputError(
                f"frameworks: unknown framework {key!r}; known: {', '.join(config.frameworks)}"
            )
    facts = _facts(conversation, findings, suspect, config)
    out = []
    for key in wanted:
        fw = config.frameworks[key]
        elements = _BUILDERS[key](facts, fw, conversation)
        out.append(LegalAssessment(key, fw.title, elements, _summary(elements)))
    return tuple(out)
