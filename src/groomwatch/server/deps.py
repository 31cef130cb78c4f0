"""FastAPI dependencies, as ``Annotated`` aliases (full-stack-fastapi-template style).

- :data:`SettingsDep`: the application's :class:`~groomwatch.settings.Settings`.
- :data:`SessionDep`: a SQLAlchemy :class:`~sqlalchemy.orm.Session` for this request, from the
  factory in ``app.state.session_factory``; closed (and rolled back if not committed) afterwards.
- :data:`TenantDep`: the tenant authenticated by ``Authorization: Bearer <api key>``, after the
  per-key rate limit. 401 for a missing or bad key (the answer says nothing about why), 429 with
  ``Retry-After`` when the key is over its rate.
- :data:`DetectorDep`: the detector loaded at start-up.

The settings, tenant and detector dependencies are ``async def`` on purpose: FastAPI runs a plain
``def`` dependency in its thread pool, a thread hand-off (and a wait for the GIL) per dependency
per request, which measured more than the work they do. They do not block the event loop for long:
the tenant is found in :class:`~groomwatch.server.tenants.TenantCache` (a short key lookup in the
database on a miss).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from groomwatch.hotline.models import User as HotlineUser
from groomwatch.server.models import Tenant
from groomwatch.server.tenants import TenantCache
from groomwatch.settings import Settings


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]

_bearer = HTTPBearer(auto_error=False, description="The API key: `Authorization: Bearer gwk_...`")

_UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="missing or invalid API key",
    headers={"WWW-Authenticate": "Bearer"},
)


async def get_tenant(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Tenant:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _UNAUTHORIZED
    cache: TenantCache = request.app.state.tenant_cache
    tenant = cache.authenticate(request.app.state.session_factory, credentials.credentials)
    if tenant is None:
        raise _UNAUTHORIZED
    request.state.tenant = tenant.name  # for the access log (a name, never a key)
    decision = request.app.state.rate_limiter.take(
        credentials.credentials[:17], rate=tenant.rate_limit
    )
    if not decision.allowed:
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="rate limit exceeded for this API key",
            headers={"Retry-After": str(max(1, math.ceil(decision.retry_after)))},
        )
    return tenant


TenantDep = Annotated[Tenant, Depends(get_tenant)]


async def get_detector(request: Request) -> Any:
    detector: Any = getattr(request.app.state, "detector", None)
    if detector is None:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail="the detector is not loaded"
        )
    return detector


DetectorDep = Annotated[Any, Depends(get_detector)]


# --- hotline: analysts' pages -------------------------------------------------------------------


def get_analyst(request: Request, session: SessionDep) -> HotlineUser:
    """The signed-in hotline analyst (any role); otherwise a redirect to the login page."""
    from groomwatch.server.web import session_user

    user = session_user(request, session)
    if user is None:
        raise HTTPException(
            status_code=status.HTTP_303_SEE_OTHER, headers={"Location": "/analyst/login"}
        )
    return user


AnalystDep = Annotated[HotlineUser, Depends(get_analyst)]
