"""The hotline's public pages (server-rendered, no JavaScript needed):

- ``/`` the hotline's home; ``/report`` the report form; ``/status`` and ``/status/{code}`` a
  reporter's private status page, where they can add information;
- ``/check`` "check a conversation" for parents and educators: analysed in memory, nothing stored
  unless they choose to report it;
- ``/signs`` the warning signs as a checklist that gives guidance for what is ticked;
- ``/static/gw.css``.

Every page says whom to call if a child is in immediate danger (``Settings.country``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from groomwatch.errors import InputError, RecordError
from groomwatch.hotline import reports
from groomwatch.hotline.analysis import ChatAnalysis, analyse_chat
from groomwatch.hotline.evidence import Upload, UploadError, sniff_media_type
from groomwatch.server.deps import SessionDep, SettingsDep
from groomwatch.server.web import (
    STATIC_DIR,
    csrf_valid,
    detector_of,
    language_of,
    rate_limited,
    read_uploads,
    render,
    services,
    translator,
)

router = APIRouter(include_in_schema=False)

STATIC_FILES = {"gw.css": "text/css; charset=utf-8"}
PASTED_NAME = "pasted-chat.txt"


def _forbidden(request: Request) -> HTMLResponse:
    _ = translator(request)
    return render(
        request,
        "public/message.html",
        {
            "title": _("This form has expired"),
            "text": _("Please go back, reload the page and send the form again."),
        },
        status_code=403,
    )


def _too_many(request: Request) -> HTMLResponse:
    _ = translator(request)
    response = render(
        request,
        "public/message.html",
        {
            "title": _("Too many requests"),
            "text": _("Please wait a few minutes and try again."),
        },
        status_code=429,
    )
    response.headers["Retry-After"] = "600"
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC_FILES:
        return Response("not found", status_code=404, media_type="text/plain")
    return Response(
        (STATIC_DIR / name).read_bytes(),
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return render(request, "public/home.html")


# --- report form ----------------------------------------------------------------------------------


def _report_form(
    request: Request,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "public/report.html",
        {"values": values or {}, "errors": errors or {}},
        status_code=status_code,
    )


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, category: str | None = None) -> HTMLResponse:
    return _report_form(request, {"category": category or "", "anonymous": "yes"})


@router.post("/report/prefill", response_class=HTMLResponse)
def report_prefill(
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    chat_text: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """From the parents' check: the report form with the checked conversation filled in (it is
    still not stored until the form is sent)."""
    if not csrf_valid(request, csrf_token):
        return _forbidden(request)
    return _report_form(
        request, {"category": "online_grooming", "anonymous": "yes", "chat_text": chat_text}
    )


@router.post("/report", response_class=HTMLResponse)
async def report_submit(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    url: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    chat_text: Annotated[str, Form()] = "",
    anonymous: Annotated[str, Form()] = "yes",
    contact_name: Annotated[str, Form()] = "",
    contact_email: Annotated[str, Form()] = "",
    contact_phone: Annotated[str, Form()] = "",
    chat_export: Annotated[list[UploadFile] | None, File()] = None,
    screenshots: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    _ = translator(request)
    values = {
        "category": category,
        "url": url,
        "description": description,
        "chat_text": chat_text,
        "anonymous": anonymous,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "contact_phone": contact_phone,
    }
    if not csrf_valid(request, csrf_token):
        return _forbidden(request)
    if rate_limited(request, "report"):
        return _too_many(request)
    try:
        data = reports.validate_report_input(
            {
                "category": category or None,
                "url": url,
                "description": description,
                "anonymous": anonymous != "no",
                "contact_name": contact_name,
                "contact_email": contact_email,
                "contact_phone": contact_phone,
                "language": language_of(request),
            }
        )
        chats = await read_uploads(chat_export, settings)
        if chat_text.strip():
            chats.append(Upload(PASTED_NAME, chat_text.encode("utf-8")))
        images = await read_uploads(screenshots, settings)
        svc = services(request)
        submission = reports.submit(
            session,
            svc.store,
            data,
            chats=chats,
            screenshots=images,
            limits=svc.limits,
            media_store=svc.media_store,
            detector=detector_of(request),
        )
        session.commit()
    except RecordError as exc:
        session.rollback()
        field = exc.field or "description"
        if field == "category" and not category:
            message = _("Choose what you are reporting.")
        else:
            message = exc.reason
        return _report_form(request, values, {field: message}, status_code=422)
    except UploadError as exc:
        session.rollback()
        return _report_form(request, values, {exc.field: exc.reason}, status_code=422)
    settings_url = settings.public_base_url.rstrip("/")
    return render(
        request,
        "public/report_done.html",
        {
            "reference": submission.reference,
            "access_code": submission.access_code,
            "status_link": f"{settings_url}/status/{submission.access_code}",
        },
    )


# --- reporter's status page -----------------------------------------------------------------------


def _status_page(
    request: Request,
    session: SessionDep,
    report: Any,
    access_code: str,
    *,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    status = reports.public_status(session, report)
    session.commit()
    return render(
        request,
        "public/status.html",
        {
            "status": status,
            "access_code": access_code,
            "message": message,
            "errors": errors or {},
        },
        status_code=status_code,
    )


@router.get("/status", response_class=HTMLResponse)
def status_lookup(request: Request) -> HTMLResponse:
    return render(request, "public/status_lookup.html", {"errors": {}, "values": {}})


@router.post("/status", response_class=HTMLResponse)
def status_lookup_submit(
    request: Request,
    session: SessionDep,
    csrf_token: Annotated[str, Form()] = "",
    reference: Annotated[str, Form()] = "",
    access_code: Annotated[str, Form()] = "",
) -> HTMLResponse:
    _ = translator(request)
    if not csrf_valid(request, csrf_token):
        return _forbidden(request)
    if rate_limited(request, "check"):
        return _too_many(request)
    report = reports.find_for_reporter(session, access_code.strip(), reference.strip())
    if report is None:
        return render(
            request,
            "public/status_lookup.html",
            {
                "values": {"reference": reference},
                "errors": {"reference": _("No report matches this reference and access code.")},
            },
            status_code=404,
        )
    return _status_page(request, session, report, access_code.strip())


@router.get("/status/{access_code}", response_class=HTMLResponse)
def status_link(request: Request, session: SessionDep, access_code: str) -> HTMLResponse:
    _ = translator(request)
    if rate_limited(request, "check"):
        return _too_many(request)
    report = reports.find_for_reporter(session, access_code)
    if report is None:
        return render(
            request,
            "public/message.html",
            {
                "title": _("Report not found"),
                "text": _("This status link is not valid. Check that you copied all of it."),
            },
            status_code=404,
        )
    response = _status_page(request, session, report, access_code)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/status/add", response_class=HTMLResponse)
async def status_add(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    access_code: Annotated[str, Form()] = "",
    text: Annotated[str, Form()] = "",
    chat_export: Annotated[list[UploadFile] | None, File()] = None,
    screenshots: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    _ = translator(request)
    if not csrf_valid(request, csrf_token):
        return _forbidden(request)
    if rate_limited(request, "report"):
        return _too_many(request)
    report = reports.find_for_reporter(session, access_code)
    if report is None:
        return render(
            request,
            "public/message.html",
            {"title": _("Report not found"), "text": _("This status link is not valid.")},
            status_code=404,
        )
    svc = services(request)
    try:
        reports.add_information(
            session,
            svc.store,
            report,
            text=text,
            chats=await read_uploads(chat_export, settings),
            screenshots=await read_uploads(screenshots, settings),
            limits=svc.limits,
            media_store=svc.media_store,
            detector=detector_of(request),
        )
        session.commit()
    except (RecordError, UploadError) as exc:
        session.rollback()
        field = exc.field or "text"
        return _status_page(
            request, session, report, access_code, errors={field: exc.reason}, status_code=422
        )
    return _status_page(
        request,
        session,
        report,
        access_code,
        message=_("Thank you. What you added has been sent to the analysts."),
    )


# --- check a conversation (parents and educators) -------------------------------------------------


def _risk_level(analysis: ChatAnalysis) -> str:
    if analysis.flagged:
        return "high"
    if analysis.risk >= 0.3 or any(c.tactics_found for c in analysis.conversations):
        return "some"
    return "low"


def _tactic_info() -> dict[str, dict[str, str]]:
    try:
        from groomwatch.detect.tactics import default_registry
    except ImportError:  # pragma: no cover - the detector is part of the core
        return {}
    return {t.name: {"title": t.title, "description": t.description} for t in default_registry()}


@router.get("/check", response_class=HTMLResponse)
def check_form(request: Request) -> HTMLResponse:
    return render(request, "public/check.html", {"errors": {}, "values": {}})


@router.post("/check", response_class=HTMLResponse)
async def check_submit(
    request: Request,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form()] = "",
    chat_text: Annotated[str, Form()] = "",
    chat_export: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Analyse in memory: nothing of the conversation is stored or logged."""
    _ = translator(request)
    if not csrf_valid(request, csrf_token):
        return _forbidden(request)
    if rate_limited(request, "check"):
        return _too_many(request)
    uploads = await read_uploads([chat_export] if chat_export else [], settings)
    errors: dict[str, str] = {}
    if uploads:
        upload = uploads[0]
    elif chat_text.strip():
        upload = Upload(PASTED_NAME, chat_text.encode("utf-8"))
    else:
        errors["chat_export"] = _("Choose a chat export file or paste the conversation.")
        return render(
            request, "public/check.html", {"errors": errors, "values": {}}, status_code=422
        )
    if len(upload.data) > settings.upload_max_bytes:
        errors["chat_export"] = _(
            "The file is larger than %(mb)s MB.", mb=settings.upload_max_bytes // 2**20
        )
    elif sniff_media_type(upload.data) not in ("text/plain", "application/zip"):
        errors["chat_export"] = _("This is not a chat export (a text, JSON, CSV or ZIP file).")
    if not errors:
        try:
            analysis = analyse_chat(upload.data, upload.filename, detector_of(request))
        except InputError as exc:
            errors["chat_export"] = _(
                "This file could not be read as a chat: %(reason)s", reason=str(exc)
            )
    if errors:
        return render(
            request,
            "public/check.html",
            {"errors": errors, "values": {"chat_text": chat_text}},
            status_code=422,
        )
    from groomwatch.advice import next_steps, signs_for_tactics

    found = list(dict.fromkeys(t for c in analysis.conversations for t in c.tactics_found))
    text_for_report = ""
    if sniff_media_type(upload.data) == "text/plain" and len(upload.data) <= 1024 * 1024:
        text_for_report = upload.data.decode("utf-8", errors="replace")
    return render(
        request,
        "public/check_result.html",
        {
            "analysis": analysis,
            "level": _risk_level(analysis),
            "tactics": _tactic_info(),
            "found": found,
            "steps": next_steps("parent"),
            "signs": signs_for_tactics(found) if found else (),
            "chat_text": text_for_report,
        },
    )


# --- warning signs --------------------------------------------------------------------------------


@router.get("/signs", response_class=HTMLResponse)
def signs(request: Request) -> HTMLResponse:
    """The warning signs as a checklist (a GET form: nothing is sent anywhere or kept)."""
    from groomwatch.advice import warning_signs

    ticked = set(request.query_params.getlist("sign"))
    all_signs = warning_signs()
    chosen = [s for s in all_signs if s.key in ticked]
    return render(
        request,
        "public/signs.html",
        {
            "behaviour": [s for s in all_signs if s.kind == "behaviour"],
            "conversation": [s for s in all_signs if s.kind == "conversation"],
            "ticked": ticked,
            "chosen": chosen,
            "submitted": "checked" in request.query_params,
        },
    )


@router.get("/report-status")
def report_status_alias() -> RedirectResponse:
    return RedirectResponse("/status", status_code=303)
