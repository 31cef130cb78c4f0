"""Reports from the public: submission, reference numbers and status links, what the reporter may
see, and information added later.

A reporter gets a **reference** (``GW-7K3M-Q9XD``: 40 random bits in Crockford's base32, easy to
read over the phone; it grants nothing on its own) and a **status link** carrying a secret
**access code** (192 random bits). Only the SHA-256 of the access code is stored: whoever reads the
database cannot follow a reporter's link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groomwatch.errors import InputError, RecordError
from groomwatch.hotline import audit
from groomwatch.hotline.analysis import analyse_chat, check_image
from groomwatch.hotline.evidence import (
    EvidenceStore,
    Upload,
    UploadError,
    digests,
    safe_filename,
    sniff_media_type,
)
from groomwatch.hotline.models import Evidence, Note, Report
from groomwatch.hotline.workflow import Category, Status, utcnow

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE = re.compile(r"GW-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d)")
_PHONE = re.compile(r"\+?[0-9 ()./-]{5,30}")
_TRACKING = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_eid|igshid|si)$", re.IGNORECASE)
LANGUAGES = ("en", "es", "fr")


class ReportInput(BaseModel):
    """What the public report form sends (validated; errors name the field)."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    category: Category
    url: str | None = Field(default=None, max_length=2048)
    description: str = Field(default="", max_length=20_000)
    anonymous: bool = True
    contact_name: str | None = Field(default=None, max_length=200)
    contact_email: str | None = Field(default=None, max_length=320)
    contact_phone: str | None = Field(default=None, max_length=64)
    language: str = "en"

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if "://" not in value:
            if _SCHEME.match(value):  # javascript:, data:, mailto: ...
                raise ValueError("must be a web address starting with http:// or https://")
            value = "http://" + value
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a web address starting with http:// or https://")
        return value

    @field_validator("contact_name", "contact_email", "contact_phone")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("contact_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError("is not an e-mail address")
        return value

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None and not _PHONE.fullmatch(value):
            raise ValueError("is not a phone number")
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return value if value in LANGUAGES else "en"

    @model_validator(mode="after")
    def _consistent(self) -> ReportInput:
        if self.anonymous:
            self.contact_name = self.contact_email = self.contact_phone = None
        elif not (self.contact_email or self.contact_phone):
            raise ValueError(
                "contact_email: give an e-mail address or a phone number, or report anonymously"
            )
        return self


def validate_report_input(data: dict[str, Any]) -> ReportInput:
    """A :class:`ReportInput`, or :class:`RecordError` naming the first bad field."""
    try:
        return ReportInput.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if not loc and ":" in message:
            loc, message = (s.strip() for s in message.split(":", 1))
        raise RecordError(message, field=loc or None) from None


def normalise_url(url: str | None) -> str | None:
    """The form of a URL used to find duplicate reports: lower-case scheme and host, no
    ``www.``, default port, fragment, tracking parameters or trailing slash; query sorted."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    port = parts.port
    netloc = host if port in (None, 80, 443) else f"{host}:{port}"
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/")
    query = urlencode(
        sorted(
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        )
    )
    return urlunsplit(
        (
            "https" if parts.scheme.lower() in ("http", "https") else parts.scheme,
            netloc,
            path,
            query,
            "",
        )
    )


def new_reference() -> str:
    raw = "".join(secrets.choice(_CROCKFORD) for _ in range(8))
    return f"GW-{raw[:4]}-{raw[4:]}"


def normalise_reference(text: str) -> str:
    """Accept what people type: lower case, spaces, O for 0, I/L for 1, no dashes."""
    cleaned = re.sub(r"[\s-]", "", text.upper()).removeprefix("GW")
    cleaned = cleaned.translate(str.maketrans("OIL", "011"))
    return f"GW-{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else text.strip().upper()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Submission:
    """What a reporter gets back, once: the reference and the secret access code."""

    report: Report
    reference: str
    access_code: str


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int
    max_files: int
    max_total_bytes: int

    @classmethod
    def from_settings(cls, settings: Any) -> UploadLimits:
        return cls(
            max_bytes=settings.upload_max_bytes,
            max_files=settings.upload_max_files,
            max_total_bytes=settings.upload_max_total_bytes,
        )


def check_uploads(
    chats: Sequence[Upload], screenshots: Sequence[Upload], limits: UploadLimits
) -> None:
    """Refuse too many, too large or wrongly typed files (judged by content, not by name)."""
    files = [("chat_export", u) for u in chats] + [("screenshots", u) for u in screenshots]
    if len(files) > limits.max_files:
        raise UploadError(
            f"at most {limits.max_files} files can be sent at once", field=files[0][0]
        )
    total = 0
    for field_name, upload in files:
        if not upload.data:
            raise UploadError(f"{safe_filename(upload.filename)} is empty", field=field_name)
        if len(upload.data) > limits.max_bytes:
            raise UploadError(
                f"{safe_filename(upload.filename)} is larger than "
                f"{limits.max_bytes // (1024 * 1024)} MB",
                field=field_name,
            )
        total += len(upload.data)
        media_type = sniff_media_type(upload.data)
        if field_name == "screenshots" and (
            media_type is None or not media_type.startswith("image/")
        ):
            raise UploadError(
                f"{safe_filename(upload.filename)} is not a PNG, JPEG, GIF or WebP image",
                field=field_name,
            )
        if field_name == "chat_export" and media_type not in ("text/plain", "application/zip"):
            raise UploadError(
                f"{safe_filename(upload.filename)} is not a chat export (a text, JSON, CSV or "
                "ZIP file)",
                field=field_name,
            )
    if total > limits.max_total_bytes:
        raise UploadError(
            f"the files together are larger than {limits.max_total_bytes // (1024 * 1024)} MB",
            field=files[0][0],
        )


def attach(
    session: Session,
    store: EvidenceStore,
    report: Report,
    upload: Upload,
    *,
    kind: str,
    source: str,
    actor: str,
    media_store: Any = None,
    detector: Any = None,
) -> Evidence:
    """Store one checked upload as evidence of ``report``: hashes taken now, chat exports read
    and assessed (an unreadable chat export is refused, naming the field), images hashed and
    matched against known-hash lists. Audit-logged with the hashes."""
    media_type = sniff_media_type(upload.data) or "application/octet-stream"
    sha256, md5 = digests(upload.data)
    evidence = Evidence(
        kind=kind,
        filename=safe_filename(upload.filename),
        media_type=media_type,
        size=len(upload.data),
        sha256=sha256,
        md5=md5,
        source=source,
        known_material=False,
    )
    if kind == "chat":
        try:
            analysis = analyse_chat(upload.data, evidence.filename, detector, legal=True)
        except InputError as exc:
            raise UploadError(
                f"this chat export could not be read ({exc})", field="chat_export"
            ) from None
        evidence.risk = analysis.risk
        evidence.analysis = json.dumps(analysis.to_dict(), ensure_ascii=False)
        report.risk = max(report.risk or 0.0, analysis.risk)
    else:
        image = check_image(upload.data, evidence.filename, media_store)
        evidence.pdq = image.pdq
        evidence.known_material = image.known_material
        if image.known_material:
            report.known_material = True
    store.put(upload.data)
    report.evidence.append(evidence)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="evidence.add",
        object_type="report",
        object_id=report.id,
        details={
            "evidence": evidence.id,
            "kind": kind,
            "sha256": sha256,
            "md5": md5,
            "size": evidence.size,
            "media_type": media_type,
            "known_material": evidence.known_material,
        },
    )
    return evidence


def _attach_reporter_uploads(
    session: Session,
    store: EvidenceStore,
    report: Report,
    chats: Sequence[Upload],
    screenshots: Sequence[Upload],
    *,
    media_store: Any,
    detector: Any,
) -> None:
    """Store the chat exports and screenshots a reporter sent, in that order."""
    for kind, uploads in (("chat", chats), ("screenshot", screenshots)):
        for upload in uploads:
            attach(
                session,
                store,
                report,
                upload,
                kind=kind,
                source="reporter",
                actor="reporter",
                media_store=media_store,
                detector=detector,
            )


def submit(
    session: Session,
    store: EvidenceStore,
    data: ReportInput,
    *,
    chats: Sequence[Upload] = (),
    screenshots: Sequence[Upload] = (),
    limits: UploadLimits,
    media_store: Any = None,
    detector: Any = None,
) -> Submission:
    """Create a report with its evidence; the caller commits. Raises :class:`UploadError` or
    :class:`RecordError` naming the field for bad input."""
    if not (data.url or data.description or chats or screenshots):
        raise RecordError(
            "say what happened, give a web address or attach a file", field="description"
        )
    check_uploads(chats, screenshots, limits)
    access_code = secrets.token_urlsafe(24)
    now = utcnow()
    for _ in range(5):
        reference = new_reference()
        if session.scalar(select(Report.id).where(Report.reference == reference)) is None:
            break
    report = Report(
        reference=reference,
        status_token_hash=hash_token(access_code),
        category=data.category.value,
        status=Status.RECEIVED.value,
        url=data.url,
        normalised_url=normalise_url(data.url),
        description=data.description,
        anonymous=data.anonymous,
        contact_name=data.contact_name,
        contact_email=data.contact_email,
        contact_phone=data.contact_phone,
        language=data.language,
        known_material=False,
        created_at=now,
        updated_at=now,
    )
    session.add(report)
    try:
        session.flush()
    except IntegrityError:  # a reference drawn twice at the same moment: astronomically rare
        session.rollback()
        raise
    audit.record(
        session,
        actor="reporter",
        action="report.create",
        object_type="report",
        object_id=report.id,
        details={
            "reference": reference,
            "category": report.category,
            "anonymous": report.anonymous,
            "files": len(chats) + len(screenshots),
        },
    )
    _attach_reporter_uploads(
        session, store, report, chats, screenshots, media_store=media_store, detector=detector
    )
    return Submission(report=report, reference=reference, access_code=access_code)


def find_for_reporter(
    session: Session, access_code: str, reference: str | None = None
) -> Report | None:
    """The report a status link or (reference, access code) pair opens, or ``None``. The
    reference, when given, must match too (compared in constant time)."""
    if not access_code or len(access_code) > 200:
        return None
    report = session.scalar(
        select(Report).where(Report.status_token_hash == hash_token(access_code))
    )
    if report is None:
        return None
    if reference is not None and not hmac.compare_digest(
        normalise_reference(reference).encode(), report.reference.encode()
    ):
        return None
    return report


def find_by_reference(session: Session, reference: str) -> Report | None:
    ref = normalise_reference(reference)
    if not _REFERENCE.fullmatch(ref):
        return None
    return session.scalar(select(Report).where(Report.reference == ref))


@dataclass(frozen=True, slots=True)
class PublicStatus:
    """What a reporter sees: never internal notes, analysts' names or other reports."""

    reference: str
    category: Category
    status: Status
    created_at: str
    updated_at: str
    public_notes: tuple[tuple[str, str], ...]
    files_sent: int
    information_added: int
    erased: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "category": self.category.value,
            "status": self.status.value,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "public_notes": [{"at": at, "text": text} for at, text in self.public_notes],
            "files_sent": self.files_sent,
            "information_added": self.information_added,
        }


def public_status(session: Session, report: Report) -> PublicStatus:
    audit.record(
        session,
        actor="reporter",
        action="report.status_view",
        object_type="report",
        object_id=report.id,
    )
    return PublicStatus(
        reference=report.reference,
        category=Category(report.category),
        status=Status(report.status),
        created_at=report.created_at.date().isoformat(),
        updated_at=report.updated_at.date().isoformat(),
        public_notes=tuple(
            (n.created_at.date().isoformat(), n.text)
            for n in report.notes
            if n.visibility == "public"
        ),
        files_sent=len(report.evidence),
        information_added=sum(1 for n in report.notes if n.visibility == "reporter"),
        erased=report.erased_at is not None,
    )


def add_information(
    session: Session,
    store: EvidenceStore,
    report: Report,
    *,
    text: str,
    chats: Sequence[Upload] = (),
    screenshots: Sequence[Upload] = (),
    limits: UploadLimits,
    media_store: Any = None,
    detector: Any = None,
) -> None:
    """The reporter adds text and files through the status link; the case is flagged as
    updated for the analysts."""
    text = text.strip()
    if len(text) > 20_000:
        raise RecordError("is longer than 20000 characters", field="text")
    if not text and not chats and not screenshots:
        raise RecordError("write something or attach a file", field="text")
    if report.erased_at is not None:
        raise RecordError("this report has been closed and its data deleted", field="text")
    check_uploads(chats, screenshots, limits)
    now = utcnow()
    if text:
        report.notes.append(Note(visibility="reporter", text=text, created_at=now))
    _attach_reporter_uploads(
        session, store, report, chats, screenshots, media_store=media_store, detector=detector
    )
    report.reporter_updated_at = now
    report.updated_at = now
    session.flush()
    audit.record(
        session,
        actor="reporter",
        action="report.reporter_update",
        object_type="report",
        object_id=report.id,
        details={"text": bool(text), "files": len(chats) + len(screenshots)},
    )
