"""What the hotline's server-rendered pages share: the Jinja2 environment, rendering in the
request's language, CSRF tokens, the analysts' signed session cookie, per-client rate limits and
the hotline's services built from the settings.

- **Pages** work without JavaScript; the CSP forbids inline scripts and styles
  (``server.middleware.ServiceMiddleware``), so templates use classes from ``static/gw.css`` only.
- **CSRF**: every form carries a token that is the ``gw_csrf`` cookie's random value signed with
  the secret key (itsdangerous); a POST whose token does not match its cookie is refused. The
  cookie is HttpOnly and SameSite=Strict.
- **Sessions**: an analyst's ``gw_session`` cookie is signed and time-stamped (itsdangerous),
  HttpOnly, SameSite=Strict, Secure outside development; it holds the user id and a fingerprint
  of the password hash, so a password change ends every session. Nothing personal is stored in it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.orm import Session

from groomwatch.hotline.evidence import EvidenceStore, Upload
from groomwatch.hotline.models import User
from groomwatch.hotline.reports import UploadLimits
from groomwatch.hotline.workflow import (
    CATEGORY_LABELS,
    PUBLIC_STATUS_LABELS,
    STATUS_LABELS,
    Category,
    Role,
    Status,
    as_utc,
    utcnow,
)
from groomwatch.server.i18n import LANGUAGES, choose_language, gettext_functions
from groomwatch.server.ratelimit import TokenBucketLimiter
from groomwatch.settings import Settings

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent / "static"
CSRF_COOKIE = "gw_csrf"
SESSION_COOKIE = "gw_session"
LANG_COOKIE = "gw_lang"

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{round(100 * float(value))}%"


environment.filters["percent"] = _percent
environment.filters["day"] = lambda v: as_utc(v).strftime("%Y-%m-%d") if v else ""
environment.filters["minute"] = lambda v: as_utc(v).strftime("%Y-%m-%d %H:%M UTC") if v else ""


def secure_cookies(settings: Settings) -> bool:
    return settings.env != "development"


def language_of(request: Request) -> str:
    lang: str = getattr(request.state, "language", None) or choose_language(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )
    request.state.language = lang
    return lang


def translator(request: Request) -> Any:
    return gettext_functions(language_of(request))["_"]


# --- CSRF -----------------------------------------------------------------------------------------


def _signer(settings: Settings, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key.get_secret_value(), salt=salt)


def csrf_seed(request: Request) -> str:
    seed: str | None = getattr(request.state, "csrf_seed", None)
    if seed is None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        seed = cookie if 20 <= len(cookie) <= 64 and cookie.isalnum() else secrets.token_hex(16)
        request.state.csrf_seed = seed
    return seed


def csrf_token(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return str(_signer(settings, "gw-csrf").dumps(csrf_seed(request)))


def csrf_valid(request: Request, token: str | None) -> bool:
    """The form's token matches this client's cookie (and is less than a day old)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not token or not cookie:
        return False
    settings: Settings = request.app.state.settings
    try:
        seed = _signer(settings, "gw-csrf").loads(token, max_age=86400)
    except (BadSignature, SignatureExpired):
        return False
    return isinstance(seed, str) and hmac.compare_digest(seed, cookie)


# --- rendering ------------------------------------------------------------------------------------


def emergency_line(country: str) -> dict[str, Any]:
    """The numbers for "If a child is in immediate danger, call ..." in ``country``."""
    from groomwatch.advice import emergency_contacts

    contacts = emergency_contacts(country)
    urgent = [c for c in contacts if c.phone and c.kind in ("emergency", "police")]
    others = [c for c in contacts if c.phone and c.kind not in ("emergency", "police")]
    return {"urgent": urgent[:2], "helplines": others[:2], "all": contacts}


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    user: User | None = None,
) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    lang = language_of(request)
    values: dict[str, Any] = {
        **gettext_functions(lang),
        "request": request,
        "lang": lang,
        "languages": LANGUAGES,
        "csrf_token": csrf_token(request),
        "emergency": emergency_line(settings.country),
        "categories": [(c.value, CATEGORY_LABELS[c]) for c in Category],
        "category_labels": {c.value: label for c, label in CATEGORY_LABELS.items()},
        "status_labels": {s.value: label for s, label in STATUS_LABELS.items()},
        "public_status_labels": {s.value: label for s, label in PUBLIC_STATUS_LABELS.items()},
        "current_user": user,
        "path": request.url.path,
    }
    values.update(context or {})
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status_code)
    finish(request, response)
    return response


def finish(request: Request, response: Response) -> Response:
    """Set the CSRF and language cookies, and forbid caching of pages (they may hold personal
    data)."""
    settings: Settings = request.app.state.settings
    secure = secure_cookies(settings)
    if request.cookies.get(CSRF_COOKIE) != csrf_seed(request):
        response.set_cookie(
            CSRF_COOKIE,
            csrf_seed(request),
            httponly=True,
            samesite="strict",
            secure=secure,
            path="/",
        )
    query_lang = request.query_params.get("lang")
    if query_lang in LANGUAGES and request.cookies.get(LANG_COOKIE) != query_lang:
        response.set_cookie(
            LANG_COOKIE,
            str(query_lang),
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=secure,
            path="/",
        )
    response.headers["Cache-Control"] = "no-store"
    return response


# --- analysts' sessions ---------------------------------------------------------------------------


def _fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def session_cookie(settings: Settings, user: User) -> str:
    return str(_signer(settings, "gw-session").dumps({"u": user.id, "p": _fingerprint(user)}))


def start_session(request: Request, response: Response, user: User) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie(settings, user),
        max_age=settings.session_hours * 3600,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(settings),
        path="/",
    )


def end_session(request: Request, response: Response) -> None:
    settings: Settings = request.app.state.settings
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=secure_cookies(settings)
    )


def session_user(request: Request, session: Session) -> User | None:
    """The analyst of this request's session cookie, or ``None`` (expired, forged, account
    disabled or locked, password changed)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    settings: Settings = request.app.state.settings
    try:
        data = _signer(settings, "gw-session").loads(raw, max_age=settings.session_hours * 3600)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = session.get(User, data["u"])
    if (
        user is None
        or not user.active
        or not hmac.compare_digest(str(data.get("p", "")), _fingerprint(user))
    ):
        return None
    if user.locked_until is not None and as_utc(user.locked_until) > utcnow():
        return None
    return user


def has_role(user: User, role: Role) -> bool:
    return Role(user.role).at_least(role)


# --- rate limits, uploads, services ---------------------------------------------------------------


def client_key(request: Request) -> str:
    """A keyed hash of the client address: limits per client without keeping addresses."""
    settings: Settings = request.app.state.settings
    host = request.client.host if request.client else "unknown"
    return hmac.new(
        settings.secret_key.get_secret_value().encode(), host.encode(), hashlib.sha256
    ).hexdigest()[:32]


def rate_limited(request: Request, bucket: str) -> bool:
    """Take one request from this client's ``bucket`` (``report`` or ``check``); ``True`` when
    the client is over its limit."""
    settings: Settings = request.app.state.settings
    limiters: dict[str, TokenBucketLimiter] | None = getattr(
        request.app.state, "hotline_limiters", None
    )
    if limiters is None:
        window = float(settings.rate_limit_window_seconds)
        limiters = {
            "report": TokenBucketLimiter(
                settings.report_rate_limit / window, settings.report_rate_limit
            ),
            "check": TokenBucketLimiter(
                settings.check_rate_limit / window, settings.check_rate_limit
            ),
            "login": TokenBucketLimiter(20 / window, 20),
        }
        request.app.state.hotline_limiters = limiters
    return not limiters[bucket].take(client_key(request)).allowed


async def read_uploads(files: list[UploadFile] | None, settings: Settings) -> list[Upload]:
    """Read uploaded files, at most ``upload_max_bytes`` + 1 bytes each (so an oversized file
    is refused without holding it whole); empty file inputs are skipped."""
    out = []
    for f in files or []:
        if not f.filename and not f.size:
            continue
        data = await f.read(settings.upload_max_bytes + 1)
        if data or f.filename:
            out.append(Upload(filename=f.filename or "upload", data=data))
    return out


@dataclass(frozen=True, slots=True)
class HotlineServices:
    """The evidence store, hash bank store and upload limits of this deployment."""

    store: EvidenceStore
    media_store: Any
    limits: UploadLimits


def services(request: Request) -> HotlineServices:
    found: HotlineServices | None = getattr(request.app.state, "hotline_services", None)
    if found is None:
        from groomwatch.hotline.analysis import open_media_store

        settings: Settings = request.app.state.settings
        found = HotlineServices(
            store=EvidenceStore.for_data_dir(settings.data_dir),
            media_store=open_media_store(settings.resolved_media_dir),
            limits=UploadLimits.from_settings(settings),
        )
        request.app.state.hotline_services = found
    return found


def detector_of(request: Request) -> Any:
    return getattr(request.app.state, "detector", None)


def status_choices() -> list[tuple[str, str]]:
    return [(s.value, STATUS_LABELS[s]) for s in Status]
