"""The hotline's vocabulary: report categories (from the seed documents), case statuses and the
transitions allowed between them, and analyst roles.

Labels are English source strings marked for translation (``N_``): the web pages translate them
through the gettext catalogues in ``groomwatch/locales``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum


def N_(message: str) -> str:  # the gettext convention: mark now, translate later
    return message


class Category(StrEnum):
    """What a report is about (the categories of the seed documents' report form)."""

    COMMERCIAL_SEXUAL_EXPLOITATION = "commercial_sexual_exploitation"
    CSAM_ONLINE = "csam_online"
    CHILD_SEXUAL_ABUSE = "child_sexual_abuse"
    ONLINE_GROOMING = "online_grooming"
    SEXUAL_EXTORTION = "sexual_extortion"

    @property
    def label(self) -> str:
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.COMMERCIAL_SEXUAL_EXPLOITATION: N_("Commercial sexual exploitation of children"),
    Category.CSAM_ONLINE: N_("Child sexual abuse material online"),
    Category.CHILD_SEXUAL_ABUSE: N_("Child sexual abuse"),
    Category.ONLINE_GROOMING: N_("Online grooming"),
    Category.SEXUAL_EXTORTION: N_("Sexual extortion"),
}

#: Triage weight of each category (0-40): extortion is the most urgent (a child under threat now,
#: with a known risk of self-harm), then material online (ongoing harm each time it is viewed).
CATEGORY_WEIGHT: dict[Category, float] = {
    Category.SEXUAL_EXTORTION: 40.0,
    Category.CSAM_ONLINE: 35.0,
    Category.CHILD_SEXUAL_ABUSE: 35.0,
    Category.ONLINE_GROOMING: 30.0,
    Category.COMMERCIAL_SEXUAL_EXPLOITATION: 30.0,
}


class Status(StrEnum):
    """Where a case stands."""

    RECEIVED = "received"
    IN_ASSESSMENT = "in_assessment"
    REFERRED_TO_POLICE = "referred_to_police"
    NOTICE_SENT_TO_HOST = "notice_sent_to_host"
    CLOSED_NO_ACTION = "closed_no_action"
    CLOSED_DUPLICATE = "closed_duplicate"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def public_label(self) -> str:
        return PUBLIC_STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in (Status.RECEIVED, Status.IN_ASSESSMENT)


STATUS_LABELS: dict[Status, str] = {
    Status.RECEIVED: N_("Received"),
    Status.IN_ASSESSMENT: N_("In assessment"),
    Status.REFERRED_TO_POLICE: N_("Referred to police"),
    Status.NOTICE_SENT_TO_HOST: N_("Notice sent to host"),
    Status.CLOSED_NO_ACTION: N_("Closed (no action)"),
    Status.CLOSED_DUPLICATE: N_("Closed (duplicate)"),
}

#: What the reporter sees: the same facts in plainer words.
PUBLIC_STATUS_LABELS: dict[Status, str] = {
    Status.RECEIVED: N_("Received: waiting for an analyst"),
    Status.IN_ASSESSMENT: N_("Being assessed by an analyst"),
    Status.REFERRED_TO_POLICE: N_("Referred to the police"),
    Status.NOTICE_SENT_TO_HOST: N_("The website or service has been asked to remove the content"),
    Status.CLOSED_NO_ACTION: N_("Closed: no further action possible"),
    Status.CLOSED_DUPLICATE: N_("Closed: already reported by someone else"),
}

#: Allowed status changes. Reopening a closed case (back to assessment) is for supervisors.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.IN_ASSESSMENT, Status.CLOSED_DUPLICATE}),
    Status.IN_ASSESSMENT: frozenset(
        {
            Status.REFERRED_TO_POLICE,
            Status.NOTICE_SENT_TO_HOST,
            Status.CLOSED_NO_ACTION,
            Status.CLOSED_DUPLICATE,
        }
    ),
    Status.REFERRED_TO_POLICE: frozenset({Status.NOTICE_SENT_TO_HOST, Status.IN_ASSESSMENT}),
    Status.NOTICE_SENT_TO_HOST: frozenset({Status.REFERRED_TO_POLICE, Status.IN_ASSESSMENT}),
    Status.CLOSED_NO_ACTION: frozenset({Status.IN_ASSESSMENT}),
    Status.CLOSED_DUPLICATE: frozenset({Status.IN_ASSESSMENT}),
}

#: Transitions only a supervisor or admin may make.
SUPERVISOR_TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.CLOSED_NO_ACTION, Status.IN_ASSESSMENT),
        (Status.CLOSED_DUPLICATE, Status.IN_ASSESSMENT),
    }
)


class Role(StrEnum):
    """Analyst roles, each with the rights of the ones before it."""

    ANALYST = "analyst"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {Role.ANALYST: 1, Role.SUPERVISOR: 2, Role.ADMIN: 3}[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """A timezone-aware UTC datetime (SQLite gives naive datetimes back)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
