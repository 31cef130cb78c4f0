"""Reports and cases on real databases: submission, reporter access, workflow, notes, duplicates,
evidence integrity, referral export, lockout, retention and statistics."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from groomwatch.errors import RecordError
from groomwatch.hotline import audit, cases, reports, retention, statistics, triage
from groomwatch.hotline.evidence import EvidenceIntegrityError, EvidenceStore, Upload, UploadError
from groomwatch.hotline.models import User
from groomwatch.hotline.reports import ReportInput, UploadLimits
from groomwatch.hotline.users import LoginOutcome, authenticate
from groomwatch.hotline.workflow import Category, Status, utcnow

from .conftest import PASSWORD, png_bytes


def _submit(
    session: Session, store: EvidenceStore, limits: UploadLimits, **kw: object
) -> reports.Submission:
    data = {
        "category": "online_grooming",
        "description": "An adult keeps asking my son to keep secrets.",
        **kw,
    }
    screenshots = kw.pop("screenshots", ()) if "screenshots" in kw else ()
    data.pop("screenshots", None)
    sub = reports.submit(
        session, store, reports.validate_report_input(data), screenshots=screenshots, limits=limits
    )  # type: ignore[arg-type]
    session.commit()
    return sub


def test_submit_gives_reference_and_private_access(
    session: Session, store: EvidenceStore, limits: UploadLimits, screenshot: Upload
) -> None:
    sub = _submit(
        session,
        store,
        limits,
        url="https://www.Example.com/profile/?utm_source=x#top",
        screenshots=[screenshot],
    )
    assert reports._REFERENCE.fullmatch(sub.reference)
    assert len(sub.access_code) >= 32
    report = sub.report
    assert report.status_token_hash != sub.access_code  # stored hashed
    assert report.normalised_url == "https://example.com/profile"
    [ev] = report.evidence
    assert ev.kind == "screenshot"
    assert ev.media_type == "image/png"
    assert len(ev.sha256) == 64
    assert store.read(ev.sha256) == screenshot.data
    assert reports.find_for_reporter(session, sub.access_code) is report
    assert reports.find_for_reporter(session, sub.access_code, sub.reference.lower()) is report
    assert reports.find_for_reporter(session, sub.access_code, "GW-0000-0000") is None
    assert reports.find_for_reporter(session, "wrong-code") is None
    status = reports.public_status(session, report)
    assert status.status is Status.RECEIVED
    assert status.files_sent == 1
    actions = [e.action for e in audit.entries_for(session, "report", report.id)]
    assert actions[:2] == ["report.create", "evidence.add"]
    assert audit.verify(session).ok


def test_bad_input_names_the_field(
    session: Session, store: EvidenceStore, limits: UploadLimits
) -> None:
    with pytest.raises(RecordError) as err:
        reports.validate_report_input({"category": "nonsense"})
    assert err.value.field == "category"
    with pytest.raises(RecordError) as err:
        reports.validate_report_input({"category": "online_grooming", "url": "javascript:alert(1)"})
    assert err.value.field == "url"
    with pytest.raises(RecordError) as err:
        reports.validate_report_input({"category": "online_grooming", "anonymous": False})
    assert err.value.field == "contact_email"
    with pytest.raises(UploadError) as up:
        reports.submit(
            session,
            store,
            ReportInput(category=Category.SEXUAL_EXTORTION),
            screenshots=[Upload("x.png", b"MZ\x90\x00 not an image")],
            limits=limits,
        )
    assert up.value.field == "screenshots"
    with pytest.raises(UploadError) as up:
        reports.submit(
            session,
            store,
            ReportInput(category=Category.SEXUAL_EXTORTION),
            screenshots=[Upload("big.png", png_bytes(2) + b"\0" * limits.max_bytes)],
            limits=limits,
        )
    assert "larger" in str(up.value)


def test_anonymous_report_keeps_no_contact(
    session: Session, store: EvidenceStore, limits: UploadLimits
) -> None:
    sub = _submit(session, store, limits, contact_email="me@example.org", anonymous=True)
    assert sub.report.contact_email is None
    named = _submit(session, store, limits, contact_email="me@example.org", anonymous=False)
    assert named.report.contact_email == "me@example.org"


def test_workflow_transitions_and_public_notes(
    session: Session, store: EvidenceStore, limits: UploadLimits, analyst: User, supervisor: User
) -> None:
    report = _submit(session, store, limits).report
    with pytest.raises(cases.TransitionError):
        cases.change_status(session, report, Status.REFERRED_TO_POLICE, analyst)
    cases.change_status(session, report, Status.IN_ASSESSMENT, analyst)
    assert report.first_assessed_at is not None
    cases.add_note(session, report, analyst, "internal: checked the profile", public=False)
    cases.add_note(session, report, analyst, "Thank you, we are looking at it.", public=True)
    cases.change_status(session, report, Status.CLOSED_NO_ACTION, analyst)
    assert report.outcome_at is not None
    with pytest.raises(cases.PermissionDenied):
        cases.change_status(session, report, Status.IN_ASSESSMENT, analyst)
    cases.change_status(session, report, Status.IN_ASSESSMENT, supervisor)
    cases.change_status(session, report, Status.REFERRED_TO_POLICE, analyst)
    session.commit()
    assert report.referred_at is not None
    assert report.outcome_at is not None
    status = reports.public_status(session, report)
    assert status.status is Status.REFERRED_TO_POLICE
    assert [t for _, t in status.public_notes] == ["Thank you, we are looking at it."]
    assert [c.to_status for c in report.status_changes] == [
        "in_assessment",
        "closed_no_action",
        "in_assessment",
        "referred_to_police",
    ]
    assert Status.IN_ASSESSMENT in cases.allowed_transitions(report, analyst)


def test_duplicates_by_url_and_by_attachment(
    session: Session, store: EvidenceStore, limits: UploadLimits, analyst: User, screenshot: Upload
) -> None:
    a = _submit(session, store, limits, url="http://example.com/u/abc/").report
    b = _submit(session, store, limits, url="https://www.example.com/u/abc").report
    c = _submit(session, store, limits, screenshots=[screenshot]).report
    d = _submit(session, store, limits, screenshots=[Upload("copy.png", screenshot.data)]).report
    e = _submit(session, store, limits, url="https://example.com/u/other").report
    assert [(x.report.id, x.reason) for x in cases.find_duplicates(session, b)] == [(a.id, "url")]
    assert [(x.report.id, x.reason) for x in cases.find_duplicates(session, d)] == [
        (c.id, "attachment")
    ]
    assert cases.find_duplicates(session, e) == []
    with pytest.raises(cases.TransitionError):
        cases.change_status(session, b, Status.CLOSED_DUPLICATE, analyst)
    cases.change_status(session, b, Status.CLOSED_DUPLICATE, analyst, duplicate_of=a)
    assert b.duplicate_of_id == a.id


def test_evidence_is_checked_on_read_and_access_is_logged(
    session: Session, store: EvidenceStore, limits: UploadLimits, analyst: User, screenshot: Upload
) -> None:
    report = _submit(session, store, limits, screenshots=[screenshot]).report
    [ev] = report.evidence
    assert cases.read_evidence(session, store, report, ev, analyst) == screenshot.data
    cases.reveal_evidence(session, report, ev, analyst)
    session.commit()
    actions = [e.action for e in audit.entries_for(session, "report", report.id)]
    assert "evidence.view" in actions
    assert "evidence.reveal" in actions
    path = store.path(ev.sha256)
    path.chmod(0o600)
    path.write_bytes(b"tampered")
    with pytest.raises(EvidenceIntegrityError):
        cases.read_evidence(session, store, report, ev, analyst)


def test_referral_export_bundle(
    session: Session,
    store: EvidenceStore,
    limits: UploadLimits,
    analyst: User,
    supervisor: User,
    screenshot: Upload,
) -> None:
    report = _submit(
        session,
        store,
        limits,
        screenshots=[screenshot],
        anonymous=False,
        contact_email="parent@example.org",
    ).report
    bundle = cases.export_case(session, store, report, analyst)
    session.commit()
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        case = json.loads(z.read("case.json"))
        sums = dict(line.split("  ")[::-1] for line in z.read("SHA256SUMS").decode().splitlines())
        ev = case["evidence"][0]
        assert z.read(ev["file"]) == screenshot.data
        assert sums[ev["file"]] == ev["sha256"]
    assert case["reference"] == report.reference
    assert case["reporter"] is None
    assert [e["action"] for e in case["audit_trail"]][:2] == ["report.create", "evidence.add"]
    assert audit.entries_for(session, "report", report.id)[-1].action == "report.export"
    with pytest.raises(cases.PermissionDenied):
        cases.export_case(session, store, report, analyst, include_contact=True)
    full = cases.export_case(session, store, report, supervisor, include_contact=True)
    with zipfile.ZipFile(io.BytesIO(full)) as z:
        assert json.loads(z.read("case.json"))["reporter"]["email"] == "parent@example.org"


def test_login_lockout(session: Session, analyst: User) -> None:
    for _ in range(2):
        assert (
            authenticate(session, analyst.email, "wrong", max_failures=3).outcome
            is LoginOutcome.BAD_CREDENTIALS
        )
    assert (
        authenticate(session, analyst.email, "wrong", max_failures=3).outcome is LoginOutcome.LOCKED
    )
    assert (
        authenticate(session, analyst.email, PASSWORD, max_failures=3).outcome
        is LoginOutcome.LOCKED
    )
    analyst.locked_until = utcnow() - timedelta(seconds=1)
    assert authenticate(session, analyst.email.upper(), PASSWORD).outcome is LoginOutcome.OK
    assert (
        authenticate(session, "nobody@example.org", PASSWORD).outcome
        is LoginOutcome.BAD_CREDENTIALS
    )
    session.commit()
    assert audit.verify(session).ok


def test_triage_orders_by_priority(
    session: Session, store: EvidenceStore, limits: UploadLimits
) -> None:
    grooming = _submit(session, store, limits).report
    extortion = _submit(session, store, limits, category="sexual_extortion").report
    risky = _submit(session, store, limits).report
    risky.risk = 0.9
    old = _submit(session, store, limits).report
    old.created_at = utcnow() - timedelta(days=5)
    session.commit()
    order = [i.report.id for i in triage.queue(session)]
    # risk 0.9 of a grooming chat (30 + 27) outranks extortion with no chat (40)
    assert order == [risky.id, extortion.id, old.id, grooming.id]


def test_retention_erases_expired_reports_only(
    session: Session, store: EvidenceStore, limits: UploadLimits, analyst: User, screenshot: Upload
) -> None:
    done = _submit(
        session,
        store,
        limits,
        screenshots=[screenshot],
        anonymous=False,
        contact_email="p@example.org",
    ).report
    open_ = _submit(session, store, limits, screenshots=[Upload("b.png", png_bytes(9))]).report
    cases.change_status(session, done, Status.IN_ASSESSMENT, analyst)
    cases.change_status(session, done, Status.CLOSED_NO_ACTION, analyst)
    session.commit()
    days = {c.value: 30 for c in Category}
    assert retention.apply(session, store, days).reports == ()
    later = utcnow() + timedelta(days=31)
    assert retention.apply(session, store, days, now=later, dry_run=True).reports == (
        done.reference,
    )
    result = retention.apply(session, store, days, now=later)
    session.commit()
    assert result.reports == (done.reference,)
    assert result.files_deleted == 1
    assert done.contact_email is None
    assert done.description == retention.ERASED
    assert not store.exists(done.evidence[0].sha256)
    assert done.evidence[0].sha256
    assert store.exists(open_.evidence[0].sha256)
    assert audit.entries_for(session, "report", done.id)[-1].action == "retention.erase"
    assert audit.verify(session).ok


def test_statistics(
    session: Session, store: EvidenceStore, limits: UploadLimits, analyst: User
) -> None:
    a = _submit(session, store, limits).report
    _submit(session, store, limits, category="sexual_extortion")
    cases.change_status(session, a, Status.IN_ASSESSMENT, analyst)
    cases.change_status(session, a, Status.REFERRED_TO_POLICE, analyst)
    session.commit()
    s = statistics.compute(session)
    month = utcnow().strftime("%Y-%m")
    assert s.total == 2
    assert s.months == (month,)
    assert s.by_category["online_grooming"][month] == 1
    assert s.by_category["sexual_extortion"][month] == 1
    assert s.by_status["referred_to_police"] == 1
    assert s.by_status["received"] == 1
    assert s.to_first_assessment.count == 1
    assert s.to_referral.count == 1
    assert s.to_referral.median_hours is not None
    assert s.to_referral.median_hours >= 0


def test_known_material_is_never_copied_into_an_export(
    session: Session, store: EvidenceStore, limits: UploadLimits, analyst: User, screenshot: Upload
) -> None:
    report = _submit(session, store, limits, screenshots=[screenshot]).report
    report.evidence[0].known_material = True  # as if a hash bank had matched it at intake
    session.commit()
    with zipfile.ZipFile(io.BytesIO(cases.export_case(session, store, report, analyst))) as z:
        case = json.loads(z.read("case.json"))
        assert z.namelist() == ["case.json", "SHA256SUMS"]
    [ev] = case["evidence"]
    assert ev["sealed"] is True
    assert ev["file"] is None
    assert ev["sha256"] == report.evidence[0].sha256


def test_reporter_adds_text_and_files(
    session: Session, store: EvidenceStore, limits: UploadLimits, screenshot: Upload
) -> None:
    report = _submit(session, store, limits).report
    reports.add_information(
        session, store, report, text="He wrote again.", screenshots=[screenshot], limits=limits
    )
    session.commit()
    assert [n.visibility for n in report.notes] == ["reporter"]
    assert [e.kind for e in report.evidence] == ["screenshot"]
    assert report.reporter_updated_at is not None
    assert triage.priority(report).reporter_update == 5.0
    assert audit.entries_for(session, "report", report.id)[-1].action == "report.reporter_update"
    with pytest.raises(RecordError) as err:
        reports.add_information(session, store, report, text="  ", limits=limits)
    assert err.value.field == "text"
