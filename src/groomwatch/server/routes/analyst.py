"""The hotline's analyst pages, under ``/analyst``: login, the triage queue, the case view
(conversation viewer with findings and risk chart, blurred attachments, assignment, notes,
statuses, duplicates, referral export) and statistics.

Every page needs a signed-in analyst (``AnalystDep``); every form carries a CSRF token; every view
of a case or its evidence, every change and every export is written to the audit log.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from groomwatch.errors import GroomwatchError, InputError, RecordError
from groomwatch.hotline import audit, cases, statistics, triage
from groomwatch.hotline.analysis import ChatAnalysis, analysis_from_stored, read_chat
from groomwatch.hotline.evidence import EvidenceIntegrityError
from groomwatch.hotline.models import Report, User
from groomwatch.hotline.reports import find_by_reference
from groomwatch.hotline.users import LoginOutcome, authenticate
from groomwatch.hotline.workflow import Category, Role, Status
from groomwatch.server.deps import AnalystDep, SessionDep, SettingsDep
from groomwatch.server.web import (
    csrf_valid,
    end_session,
    finish,
    has_role,
    rate_limited,
    render,
    services,
    session_user,
    translator,
)

router = APIRouter(prefix="/analyst", include_in_schema=False)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _refuse(request: Request, user: User | None, title: str, text: str, code: int) -> HTMLResponse:
    return render(
        request, "public/message.html", {"title": title, "text": text}, status_code=code, user=user
    )


# --- login ----------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, session: SessionDep) -> Response:
    if session_user(request, session) is not None:
        return _redirect("/analyst/queue")
    return render(request, "analyst/login.html", {"error": None, "email": ""})


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request)
    if not csrf_valid(request, csrf_token):
        return _refuse(
            request,
            None,
            _("This form has expired"),
            _("Please go back, reload the page and send the form again."),
            403,
        )
    if rate_limited(request, "login"):
        return _refuse(
            request,
            None,
            _("Too many requests"),
            _("Please wait a few minutes and try again."),
            429,
        )
    result = authenticate(
        session,
        email,
        password,
        max_failures=settings.login_max_failures,
        lockout_minutes=settings.login_lockout_minutes,
    )
    session.commit()
    if result.outcome is not LoginOutcome.OK or result.user is None:
        error = _(
            "The e-mail address or password is wrong, or the account is locked. After "
            "%(n)s failed attempts an account is locked for %(m)s minutes.",
            n=settings.login_max_failures,
            m=settings.login_lockout_minutes,
        )
        return render(
            request, "analyst/login.html", {"error": error, "email": email}, status_code=401
        )
    response = _redirect("/analyst/queue")
    from groomwatch.server.web import start_session

    start_session(request, response, result.user)
    finish(request, response)
    return response


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    response = _redirect("/analyst/login")
    if csrf_valid(request, csrf_token):
        end_session(request, response)
    return response


@router.get("")
@router.get("/")
def analyst_home() -> Response:
    return _redirect("/analyst/queue")


# --- queue ----------------------------------------------------------------------------------------


@router.get("/queue", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    category: str | None = None,
    mine: bool = False,
    closed: bool = False,
) -> HTMLResponse:
    try:
        cat = Category(category) if category else None
    except ValueError:
        cat = None
    statuses = tuple(Status) if closed else (Status.RECEIVED, Status.IN_ASSESSMENT)
    items = triage.queue(
        session, statuses=statuses, category=cat, assigned_to=user.id if mine else None
    )
    audit.record(
        session,
        actor=cases.actor_of(user),
        action="queue.view",
        object_type="queue",
        object_id="triage",
        details={"items": len(items)},
    )
    session.commit()
    return render(
        request,
        "analyst/queue.html",
        {"items": items, "category": category or "", "mine": mine, "closed": closed},
        user=user,
    )


# --- case view ------------------------------------------------------------------------------------


def _case_or_404(session: SessionDep, reference: str) -> Report | None:
    return find_by_reference(session, reference)


def _chats(
    request: Request, session: SessionDep, report: Report, user: User
) -> list[tuple[Any, ChatAnalysis | None, str | None]]:
    """Each chat export of the case, re-read from the evidence store (hash checked, access
    logged) with its stored assessment."""
    store = services(request).store
    out: list[tuple[Any, ChatAnalysis | None, str | None]] = []
    for item in report.evidence:
        if item.kind != "chat":
            continue
        if item.purged_at is not None:
            out.append((item, None, "deleted under the retention policy"))
            continue
        try:
            data = cases.read_evidence(session, store, report, item, user)
            conversations = read_chat(data, item.filename)
            stored = json.loads(item.analysis) if item.analysis else {}
            out.append((item, analysis_from_stored(conversations, stored), None))
        except EvidenceIntegrityError as exc:
            out.append((item, None, str(exc)))
        except InputError as exc:
            out.append((item, None, str(exc)))
    return out


def _tactic_info() -> dict[str, dict[str, str]]:
    from groomwatch.detect.tactics import default_registry

    return {t.name: {"title": t.title, "description": t.description} for t in default_registry()}


def _case_page(
    request: Request,
    session: SessionDep,
    report: Report,
    user: User,
    *,
    error: str | None = None,
    status_code: int = 200,
    reveal: int | None = None,
) -> HTMLResponse:
    cases.open_case(session, report, user)
    chats = _chats(request, session, report, user)
    duplicates = cases.find_duplicates(session, report)
    analysts = list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.email)))
    trail = audit.entries_for(session, "report", report.id)
    duplicate_of = session.get(Report, report.duplicate_of_id) if report.duplicate_of_id else None
    session.commit()
    return render(
        request,
        "analyst/case.html",
        {
            "report": report,
            "priority": triage.priority(report),
            "chats": chats,
            "tactics": _tactic_info(),
            "duplicates": duplicates,
            "duplicate_of": duplicate_of,
            "analysts": analysts,
            "transitions": cases.allowed_transitions(report, user),
            "trail": trail[-30:],
            "error": error,
            "reveal": reveal,
            "is_supervisor": has_role(user, Role.SUPERVISOR),
        },
        status_code=status_code,
        user=user,
    )


@router.get("/cases/{reference}", response_class=HTMLResponse)
def case_page(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    reference: str,
    reveal: int | None = None,
) -> HTMLResponse:
    _ = translator(request)
    report = _case_or_404(session, reference)
    if report is None:
        return _refuse(request, user, _("Report not found"), reference, 404)
    if reveal is not None:
        try:
            item = cases.evidence_of(report, reveal)
        except RecordError:
            reveal = None
        else:
            # Revealing is a deliberate, logged act (POST .../reveal); a link cannot do it.
            revealed = any(
                e.action == "evidence.reveal"
                and json.loads(e.details).get("evidence") == item.id
                and e.actor == cases.actor_of(user)
                for e in audit.entries_for(session, "report", report.id)[-20:]
            )
            if not revealed or item.known_material:
                reveal = None
    return _case_page(request, session, report, user, reveal=reveal)


def _checked(request: Request, user: User, csrf_token: str) -> HTMLResponse | None:
    _ = translator(request)
    if not csrf_valid(request, csrf_token):
        return _refuse(
            request,
            user,
            _("This form has expired"),
            _("Please go back, reload the page and send the form again."),
            403,
        )
    return None


def _case_for_form(
    request: Request, session: SessionDep, user: User, csrf_token: str, reference: str
) -> Report | HTMLResponse:
    """The case a form posts to, or the page refusing it (expired form: 403; no such case: 404)."""
    if (refused := _checked(request, user, csrf_token)) is not None:
        return refused
    report = _case_or_404(session, reference)
    if report is None:
        _ = translator(request)
        return _refuse(request, user, _("Report not found"), reference, 404)
    return report


@router.post("/cases/{reference}/status", response_class=HTMLResponse)
def case_status(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    reference: str,
    csrf_token: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    duplicate_of: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request)
    report = _case_for_form(request, session, user, csrf_token, reference)
    if not isinstance(report, Report):
        return report
    original = None
    if duplicate_of.strip():
        original = find_by_reference(session, duplicate_of)
        if original is None:
            return _case_page(
                request,
                session,
                report,
                user,
                status_code=422,
                error=_("No report has the reference %(ref)s.", ref=duplicate_of),
            )
    try:
        cases.change_status(session, report, status, user, duplicate_of=original)
        session.commit()
    except cases.PermissionDenied as exc:
        session.rollback()
        return _case_page(request, session, report, user, error=str(exc), status_code=403)
    except RecordError as exc:
        session.rollback()
        return _case_page(request, session, report, user, error=exc.reason, status_code=422)
    return _redirect(f"/analyst/cases/{report.reference}")


@router.post("/cases/{reference}/assign", response_class=HTMLResponse)
def case_assign(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    reference: str,
    csrf_token: Annotated[str, Form()] = "",
    assignee: Annotated[str, Form()] = "",
) -> Response:
    report = _case_for_form(request, session, user, csrf_token, reference)
    if not isinstance(report, Report):
        return report
    target = None
    if assignee == "me":
        target = user
    elif assignee.isdigit():
        target = session.get(User, int(assignee))
        if target is None:
            return _case_page(
                request, session, report, user, error="unknown analyst", status_code=422
            )
    try:
        cases.assign(session, report, target, user)
        session.commit()
    except RecordError as exc:
        session.rollback()
        return _case_page(request, session, report, user, error=exc.reason, status_code=422)
    return _redirect(f"/analyst/cases/{report.reference}")


@router.post("/cases/{reference}/notes", response_class=HTMLResponse)
def case_note(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    reference: str,
    csrf_token: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "internal",
) -> Response:
    report = _case_for_form(request, session, user, csrf_token, reference)
    if not isinstance(report, Report):
        return report
    try:
        cases.add_note(session, report, user, text, public=visibility == "public")
        session.commit()
    except RecordError as exc:
        session.rollback()
        return _case_page(request, session, report, user, error=exc.reason, status_code=422)
    return _redirect(f"/analyst/cases/{report.reference}#notes")


@router.post("/cases/{reference}/evidence/{evidence_id}/reveal", response_class=HTMLResponse)
def evidence_reveal(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    reference: str,
    evidence_id: int,
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    _ = translator(request)
    report = _case_for_form(request, session, user, csrf_token, reference)
    if not isinstance(report, Report):
        return report
    try:
        item = cases.evidence_of(report, evidence_id)
    except RecordError:
        return _refuse(request, user, _("Report not found"), reference, 404)
    if item.known_material or item.purged_at is not None:
        return _case_page(
            request,
            session,
            report,
            user,
            status_code=403,
            error=_("This file matched a list of known abuse material and is never shown."),
        )
    cases.reveal_evidence(session, report, item, user)
    session.commit()
    return _redirect(f"/analyst/cases/{report.reference}?reveal={item.id}#e{item.id}")


def _image_response(data: bytes, media_type: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": "inline",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


@router.get("/cases/{reference}/evidence/{evidence_id}/preview")
def evidence_preview(
    request: Request, session: SessionDep, user: AnalystDep, reference: str, evidence_id: int
) -> Response:
    """A heavily blurred, small rendering of an image (made on the server: the clear image does
    not reach the browser until the analyst reveals it)."""
    report = _case_or_404(session, reference)
    if report is None:
        return Response(status_code=404)
    try:
        item = cases.evidence_of(report, evidence_id)
    except RecordError:
        return Response(status_code=404)
    if (
        item.known_material
        or item.purged_at is not None
        or not item.media_type.startswith("image/")
    ):
        return Response(status_code=404)
    data = cases.read_evidence(
        session, services(request).store, report, item, user, purpose="preview"
    )
    session.commit()
    return _image_response(_blurred(data), "image/png")


def _blurred(data: bytes) -> bytes:
    try:
        from PIL import Image, ImageFilter
    except ImportError:  # the media extra is not installed: a grey tile
        return _GREY_PNG
    try:
        with Image.open(io.BytesIO(data)) as opened:
            rgb = opened.convert("RGB")
            rgb.thumbnail((320, 320))
            small = rgb.resize((max(1, rgb.width // 16), max(1, rgb.height // 16)))
            blurred = small.resize(rgb.size).filter(ImageFilter.GaussianBlur(12))
            out = io.BytesIO()
            blurred.save(out, format="PNG")
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return _GREY_PNG


_GREY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d763"
    "787878000003030101f5c6c1a10000000049454e44ae426082"
)


@router.get("/cases/{reference}/evidence/{evidence_id}/content")
def evidence_content(
    request: Request, session: SessionDep, user: AnalystDep, reference: str, evidence_id: int
) -> Response:
    """The original file (hash checked, access logged). Files that matched known material are
    never served."""
    report = _case_or_404(session, reference)
    if report is None:
        return Response(status_code=404)
    try:
        item = cases.evidence_of(report, evidence_id)
    except RecordError:
        return Response(status_code=404)
    if item.known_material or item.purged_at is not None:
        return Response(status_code=403)
    try:
        data = cases.read_evidence(session, services(request).store, report, item, user)
    except EvidenceIntegrityError:
        return Response("the stored file no longer matches its hash", status_code=409)
    session.commit()
    if item.media_type.startswith("image/"):
        return _image_response(data, item.media_type)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="evidence-{item.id}-{item.sha256[:12]}"',
        },
    )


@router.post("/cases/{reference}/export")
def case_export(
    request: Request,
    session: SessionDep,
    user: AnalystDep,
    reference: str,
    csrf_token: Annotated[str, Form()] = "",
    include_contact: Annotated[str, Form()] = "",
) -> Response:
    report = _case_for_form(request, session, user, csrf_token, reference)
    if not isinstance(report, Report):
        return report
    try:
        bundle = cases.export_case(
            session, services(request).store, report, user, include_contact=include_contact == "yes"
        )
        session.commit()
    except (cases.PermissionDenied, EvidenceIntegrityError) as exc:
        session.rollback()
        return _case_page(request, session, report, user, error=str(exc), status_code=403)
    except GroomwatchError as exc:  # pragma: no cover - defensive
        session.rollback()
        return _case_page(request, session, report, user, error=str(exc), status_code=422)
    return Response(
        bundle,
        media_type="application/zip",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": f'attachment; filename="{report.reference}.zip"',
        },
    )


# --- statistics -----------------------------------------------------------------------------------


@router.get("/stats", response_class=HTMLResponse)
def stats_page(request: Request, session: SessionDep, user: AnalystDep) -> HTMLResponse:
    result = statistics.compute(session)
    audit.record(
        session,
        actor=cases.actor_of(user),
        action="statistics.view",
        object_type="statistics",
        object_id="all",
    )
    session.commit()
    totals = {c: sum(months.values()) for c, months in result.by_category.items()}
    return render(
        request,
        "analyst/stats.html",
        {"stats": result, "totals": totals, "max_total": max(totals.values(), default=0) or 1},
        user=user,
    )
