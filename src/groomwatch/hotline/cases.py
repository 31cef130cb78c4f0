"""What analysts do with a report: open it, assign it, note, change its status along the allowed
transitions, look at its evidence, find duplicates and export it for referral. Every view, change
and export is written to the audit log in the same transaction."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groomwatch import __version__
from groomwatch.errors import GroomwatchError, RecordError
from groomwatch.hotline import audit
from groomwatch.hotline.evidence import EvidenceStore
from groomwatch.hotline.models import Evidence, Note, Report, StatusChange, User
from groomwatch.hotline.workflow import (
    SUPERVISOR_TRANSITIONS,
    TRANSITIONS,
    Role,
    Status,
    utcnow,
)


class PermissionDenied(GroomwatchError):
    """The user's role does not allow this."""


class TransitionError(RecordError):
    """A status change that the workflow does not allow."""


def actor_of(user: User) -> str:
    return f"user:{user.id}"


def open_case(session: Session, report: Report, user: User) -> Report:
    """Record that ``user`` opened the case (its description, contact details and chats)."""
    audit.record(
        session,
        actor=actor_of(user),
        action="report.view",
        object_type="report",
        object_id=report.id,
    )
    return report


def allowed_transitions(report: Report, user: User) -> list[Status]:
    current = Status(report.status)
    role = Role(user.role)
    return sorted(
        (
            to
            for to in TRANSITIONS[current]
            if (current, to) not in SUPERVISOR_TRANSITIONS or role.at_least(Role.SUPERVISOR)
        ),
        key=list(Status).index,
    )


def change_status(
    session: Session,
    report: Report,
    to: Status | str,
    user: User,
    *,
    duplicate_of: Report | None = None,
) -> StatusChange:
    try:
        target = Status(to)
    except ValueError:
        raise TransitionError("is not a known status", field="status") from None
    current = Status(report.status)
    if target not in TRANSITIONS[current]:
        raise TransitionError(f"cannot go from {current.value} to {target.value}", field="status")
    if (current, target) in SUPERVISOR_TRANSITIONS and not Role(user.role).at_least(
        Role.SUPERVISOR
    ):
        raise PermissionDenied("only a supervisor can reopen a closed case")
    if target is Status.CLOSED_DUPLICATE:
        if duplicate_of is None:
            raise TransitionError(
                "give the reference of the report this duplicates", field="duplicate_of"
            )
        if duplicate_of.id == report.id:
            raise TransitionError("a report cannot duplicate itself", field="duplicate_of")
        report.duplicate_of_id = duplicate_of.id
    now = utcnow()
    if target is Status.IN_ASSESSMENT and report.first_assessed_at is None:
        report.first_assessed_at = now
    if target is Status.REFERRED_TO_POLICE and report.referred_at is None:
        report.referred_at = now
    report.outcome_at = None if target.is_open else now
    if target.is_open and current is Status.CLOSED_DUPLICATE:
        report.duplicate_of_id = None
    report.status = target.value
    report.updated_at = now
    change = StatusChange(
        from_status=current.value, to_status=target.value, user_id=user.id, at=now
    )
    report.status_changes.append(change)
    session.flush()
    details: dict[str, Any] = {"from": current.value, "to": target.value}
    if duplicate_of is not None and target is Status.CLOSED_DUPLICATE:
        details["duplicate_of"] = duplicate_of.reference
    audit.record(
        session,
        actor=actor_of(user),
        action="report.status",
        object_type="report",
        object_id=report.id,
        details=details,
    )
    return change


def assign(session: Session, report: Report, assignee: User | None, user: User) -> None:
    if assignee is not None and not assignee.active:
        raise RecordError("this account is disabled", field="assignee")
    report.assigned_to_id = assignee.id if assignee else None
    report.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor_of(user),
        action="report.assign",
        object_type="report",
        object_id=report.id,
        details={"assignee": assignee.id if assignee else None},
    )


def add_note(session: Session, report: Report, user: User, text: str, *, public: bool) -> Note:
    """An internal note, or (``public``) a note the reporter sees on the status page."""
    text = text.strip()
    if not text:
        raise RecordError("must not be empty", field="text")
    if len(text) > 20_000:
        raise RecordError("is longer than 20000 characters", field="text")
    note = Note(
        visibility="public" if public else "internal",
        text=text,
        author_id=user.id,
        created_at=utcnow(),
    )
    report.notes.append(note)
    report.updated_at = note.created_at
    session.flush()
    audit.record(
        session,
        actor=actor_of(user),
        action="report.note",
        object_type="report",
        object_id=report.id,
        details={"note": note.id, "visibility": note.visibility},
    )
    return note


def evidence_of(report: Report, evidence_id: int) -> Evidence:
    for item in report.evidence:
        if item.id == evidence_id:
            return item
    raise RecordError("no such evidence in this case", field="evidence")


def reveal_evidence(session: Session, report: Report, evidence: Evidence, user: User) -> None:
    """Record that ``user`` chose to see an attachment unblurred."""
    audit.record(
        session,
        actor=actor_of(user),
        action="evidence.reveal",
        object_type="report",
        object_id=report.id,
        details={"evidence": evidence.id, "sha256": evidence.sha256},
    )


def read_evidence(
    session: Session,
    store: EvidenceStore,
    report: Report,
    evidence: Evidence,
    user: User,
    *,
    purpose: str = "view",
) -> bytes:
    """The evidence bytes (hash checked), with the access recorded."""
    if evidence.purged_at is not None:
        raise RecordError("this file was deleted under the retention policy", field="evidence")
    data = store.read(evidence.sha256)
    audit.record(
        session,
        actor=actor_of(user),
        action=f"evidence.{purpose}",
        object_type="report",
        object_id=report.id,
        details={"evidence": evidence.id, "sha256": evidence.sha256},
    )
    return data


@dataclass(frozen=True, slots=True)
class Duplicate:
    """Another report that looks like the same thing, and why."""

    report: Report
    reason: str  # "url" | "attachment"

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.report.reference, "reason": self.reason}


def find_duplicates(session: Session, report: Report) -> list[Duplicate]:
    """Reports with the same normalised URL, or an attachment with the same SH-256."""
    out: dict[int, Duplicate] = {}
    if report.normalised_url:
        for other in session.scalars(
            select(Report)
            .where(Report.normalised_url == report.normalised_url, Report.id != report.id)
            .order_by(Report.id)
        ):
            out.setdefault(other.id, Duplicate(other, "url"))
    hashes = [e.sha256 for e in report.evidence]
    if hashes:
        for other in session.scalars(
            select(Report)
            .join(Evidence, Evidence.report_id == Report.id)
            .where(Evidence.sha256.in_(hashes), Report.id != report.id)
            .order_by(Report.id)
            .distinct()
        ):
            out.setdefault(other.id, Duplicate(other, "attachment"))
    return list(out.values())


def export_case(
    session: Session,
    store: EvidenceStore,
    report: Report,
    user: User,
    *,
    include_contact: bool = False,
) -> bytes:
    """A ZIP bundle for referral: ``case.json`` (the report, notes, status history, evidence
    hashes and analyses, the case's audit trail), every evidence file under
    ``evidence/<sha256>``, and ``SHA256SUMS``. The reporter's contact details are included only
    when asked for (``include_contact``, supervisors). The export is audit-logged with the
    bundle's own SHA-256."""
    if include_contact and not Role(user.role).at_least(Role.SUPERVISOR):
        raise PermissionDenied("only a supervisor can export contact details")
    evidence_entries = []
    files: dict[str, bytes] = {}
    for item in report.evidence:
        entry: dict[str, Any] = {
            "id": item.id,
            "kind": item.kind,
            "filename": item.filename,
            "media_type": item.media_type,
            "size": item.size,
            "sha256": item.sha256,
            "md5": item.md5,
            "pdq": item.pdq,
            "known_material": item.known_material,
            "received_at": item.created_at.isoformat(),
            "source": item.source,
            "risk": item.risk,
            "analysis": json.loads(item.analysis) if item.analysis else None,
            "file": None,
        }
        entry["sealed"] = item.known_material
        if item.purged_at is None and not item.known_material:
            # Known material is referred to by its hashes only, never copied into a bundle.
            files[f"evidence/{item.sha256}"] = store.read(item.sha256)
            entry["file"] = f"evidence/{item.sha256}"
        evidence_entries.append(entry)
    case: dict[str, Any] = {
        "format": "groomwatch-case-export/1",
        "generator": f"groomwatch {__version__}",
        "exported_at": utcnow().isoformat(),
        "exported_by": actor_of(user),
        "reference": report.reference,
        "category": report.category,
        "status": report.status,
        "url": report.url,
        "description": report.description,
        "received_at": report.created_at.isoformat(),
        "language": report.language,
        "risk": report.risk,
        "known_material": report.known_material,
        "anonymous": report.anonymous,
        "reporter": (
            {
                "name": report.contact_name,
                "email": report.contact_email,
                "phone": report.contact_phone,
            }
            if include_contact and not report.anonymous
            else None
        ),
        "notes": [
            {
                "at": n.created_at.isoformat(),
                "visibility": n.visibility,
                "text": n.text,
                "author": f"user:{n.author_id}" if n.author_id else "reporter",
            }
            for n in report.notes
        ],
        "status_history": [
            {
                "at": c.at.isoformat(),
                "from": c.from_status,
                "to": c.to_status,
                "by": f"user:{c.user_id}" if c.user_id else None,
            }
            for c in report.status_changes
        ],
        "evidence": evidence_entries,
        "audit_trail": [
            audit.entry_to_dict(e) for e in audit.entries_for(session, "report", report.id)
        ],
    }
    case_json = json.dumps(case, ensure_ascii=False, indent=2).encode("utf-8")
    members = {"case.json": case_json, **files}

    sums = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in members.items()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            bundle.writestr(info, data)
        bundle.writestr(zipfile.ZipInfo("SHA256SUMS", date_time=(2000, 1, 1, 0, 0, 0)), sums)
    out = buffer.getvalue()
    audit.record(
        session,
        actor=actor_of(user),
        action="report.export",
        object_type="report",
        object_id=report.id,
        details={
            "bundle_sha256": hashlib.sha256(out).hexdigest(),
            "files": len(files),
            "include_contact": include_contact,
        },
    )
    return out
