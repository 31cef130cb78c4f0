"""Routes: health. ``/healthz`` (the process answers), ``/readyz`` (the database is reachable and
the detector is loaded: send traffic), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from groomwatch.server import metrics
from groomwatch.server.logging import exception_summary, get_logger

router = APIRouter(tags=["health"])
_log = get_logger("health")


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database reachable, detector loaded")
def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with request.app.state.session_factory() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        _log.warning("readiness: database unreachable", extra=exception_summary(exc))
        checks["database"] = "unreachable"
    checks["detector"] = "ok" if getattr(request.app.state, "detector", None) else "not loaded"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def prometheus_metrics() -> Response:
    return Response(metrics.render(), media_type=metrics.CONTENT_TYPE)
