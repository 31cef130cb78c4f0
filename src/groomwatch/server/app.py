"""The FastAPI application factory.

:func:`create_app` builds one application for the detection API and the hotline's pages: it makes
the database engine and session factory (``app.state.engine``, ``app.state.session_factory``),
includes every module of :data:`~groomwatch.server.routes.ROUTE_MODULES`, and wraps the whole in
the service's middleware (request id and access log without text, security headers with a strict
CSP, body size limits). Its lifespan loads the detector (``app.state.detector``), starts the webhook
outbox loop and, when a retention period is set, the sweep that erases idle conversations.

The schema is not migrated here (several workers would race): ``groomwatch serve`` runs
``alembic upgrade heads`` once before the workers start; tests call
:func:`groomwatch.db.upgrade_database`.

Run with several workers through uvicorn's factory mode::

    uvicorn groomwatch.server.app:create_app --factory --workers 4
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import event
from sqlalchemy.engine import Engine

from groomwatch import __version__
from groomwatch.db.base import create_db_engine, make_session_factory
from groomwatch.errors import InputError, RecordError
from groomwatch.server.fastpath import AppendFastPath
from groomwatch.server.logging import configure_logging, exception_summary, get_logger
from groomwatch.server.middleware import ServiceMiddleware
from groomwatch.server.ratelimit import TokenBucketLimiter
from groomwatch.server.routes import ROUTE_MODULES
from groomwatch.server.streaming import AppendStore, MonitorCache, platform_steps
from groomwatch.server.tenants import TenantCache
from groomwatch.server.webhooks import WebhookDelivery
from groomwatch.settings import Settings, get_settings

_log = get_logger("app")

SWITCH_INTERVAL_SECONDS = 0.0005

# The JSON API takes small bodies; other routes (hotline uploads, media) their own larger limit.
API_BODY_PATHS = ("/v1/assessments", "/v1/conversations", "/v1/reviews", "/v1/tactics")

DESCRIPTION = """
Early warning of online grooming and sexual extortion of children in chat, for platforms.

Authenticate with `Authorization: Bearer <api key>` (`groomwatch tenants create NAME`).
Scores and alerts support **human review**: groomwatch never acts against a person on its own.
"""


def _compact_json(value: Any) -> str:
    # JSON columns (the streaming detector's state, written on every append): no spaces.
    return json.dumps(value, separators=(",", ":"))


def _engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    # Enough pooled connections for FastAPI's thread pool (40 threads), so a request never
    # waits for a connection while another waits for it to finish.
    if url.startswith("sqlite"):
        engine = create_db_engine(
            url, pool_size=20, max_overflow=30, pool_timeout=30, json_serializer=_compact_json
        )

        @event.listens_for(engine, "connect")
        def _secure_delete(dbapi_conn: Any, _record: Any) -> None:
            # Erased rows are overwritten with zeros, not left in free pages of the file.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA secure_delete=ON")
            # Checkpoints run in _Checkpointer's thread, not in the commit of a request.
            cur.execute("PRAGMA wal_autocheckpoint=0")
            cur.close()

        return engine
    return create_db_engine(
        url, pool_size=10, max_overflow=30, pool_timeout=10, json_serializer=_compact_json
    )


def _load_detector(settings: Settings) -> Any:
    from groomwatch.detect import Detector

    return Detector.load(model_path=settings.model_path, cues_path=settings.cues_path)


class _Periodic:
    """A daemon thread that calls :meth:`tick` every ``period`` seconds until stopped (first
    call at once when ``immediately``); a failing tick is logged and the next one still runs."""

    name = "periodic"

    def __init__(self, period: float, *, immediately: bool) -> None:
        self.period, self.immediately = period, immediately
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"groomwatch-{self.name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def tick(self) -> None:
        raise NotImplementedError

    def _run(self) -> None:
        if not self.immediately and self._stop.wait(self.period):
            return
        while True:
            try:
                self.tick()
            except Exception as exc:
                _log.warning(f"{self.name} failed", extra=exception_summary(exc))
            if self._stop.wait(self.period):
                return


class _Checkpointer(_Periodic):
    """SQLite: copies the write-ahead log into the database file every ``period`` seconds, in a
    thread (``PRAGMA wal_checkpoint(PASSIVE)``: it never waits for, nor holds up, a writer).

    By default SQLite checkpoints in the commit that makes the log pass 1,000 pages, and that
    commit then writes and syncs megabytes: under a steady stream of appends, one request in a
    few hundred took tens of milliseconds longer. The service's connections turn automatic
    checkpoints off; this thread keeps the log short instead."""

    name = "checkpoint"

    def __init__(self, engine: Engine, period: float = 0.5) -> None:
        super().__init__(period, immediately=False)
        self.engine = engine

    def tick(self) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


class _RetentionSweep(_Periodic):
    """Erases conversations idle longer than ``api_retention_days``, hourly, in a thread."""

    name = "retention sweep"

    def __init__(self, app: FastAPI, days: int, period: float = 3600.0) -> None:
        super().__init__(period, immediately=True)
        self.app, self.days = app, days

    def tick(self) -> None:
        from groomwatch.server.streaming import erase_idle

        erased = erase_idle(self.app.state.session_factory, self.days)
        if erased:
            _log.info("retention sweep", extra={"erased": erased})


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    # The event loop and the worker threads share the GIL: after every database call a thread
    # waits for it up to the switch interval (5 ms by default), which piles up into tens of
    # milliseconds per request under load. 0.5 ms measured lower latency at the same CPU.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    if getattr(app.state, "detector", None) is None:
        app.state.detector = _load_detector(settings)
    app.state.detector.warm_up()  # not in the first append's time
    platform_steps()  # read the advice files now, not in the first alert's request
    delivery = WebhookDelivery(app.state.session_factory, settings)
    app.state.webhook_delivery = delivery
    delivery.start()
    checkpointer = None
    if app.state.engine.dialect.name == "sqlite":
        checkpointer = _Checkpointer(app.state.engine)
        checkpointer.start()
    gc.freeze()  # the detector and the app's objects: out of the collector's way from now on
    sweep = None
    if settings.api_retention_days:
        sweep = _RetentionSweep(app, settings.api_retention_days)
        sweep.start()
    try:
        yield
    finally:
        delivery.stop()
        if checkpointer is not None:
            checkpointer.stop()
        if sweep is not None:
            sweep.stop()
        app.state.append_store.close()
        app.state.engine.dispose()


def _field_loc(field: str | None, prefix: tuple[str, ...] = ("body",)) -> list[str | int]:
    """``messages[3].text`` -> ``["body", "messages", 3, "text"]``."""
    loc: list[str | int] = list(prefix)
    for part in (field or "").replace("]", "").split("."):
        for i, piece in enumerate(part.split("[")):
            if piece:
                loc.append(int(piece) if i > 0 and piece.isdigit() else piece)
    return loc


def _install_error_handlers(app: FastAPI) -> None:
    async def input_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InputError)
        if isinstance(exc, RecordError):
            detail = [{"loc": _field_loc(exc.field), "msg": exc.reason, "type": "value_error"}]
        else:
            detail = [{"loc": ["body"], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        # The default answer echoes the input back; drop it (it may be chat text).
        assert isinstance(exc, RequestValidationError)
        detail = [
            {k: v for k, v in err.items() if k in ("loc", "msg", "type")} for err in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        request_id = getattr(request.state, "request_id", None)
        _log.error("unhandled error", extra={"request_id": request_id, **exception_summary(exc)})
        return JSONResponse({"detail": "internal error", "request_id": request_id}, status_code=500)

    app.add_exception_handler(InputError, input_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, internal_error)


def create_app(settings: Settings | None = None, *, detector: Any = None) -> FastAPI:
    """The application. ``detector`` replaces the one :meth:`Detector.load` would load (tests,
    embedding); by default it is loaded at start-up from ``settings.model_path``."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="groomwatch",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_lifespan,
        # No OpenTelemetry from FastAPI: its spans would carry concrete paths (the platforms'
        # conversation ids), which the service's own logs and metrics never record, and its
        # check for configured providers runs on every request. Metrics: /metrics.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.engine = _engine(settings)
    app.state.session_factory = make_session_factory(app.state.engine)
    app.state.append_store = AppendStore(app.state.engine)
    app.state.rate_limiter = TokenBucketLimiter(settings.api_rate_limit, settings.api_rate_burst)
    app.state.tenant_cache = TenantCache(settings.api_key_cache_seconds)
    app.state.monitor_cache = MonitorCache(settings.api_monitor_cache_size)
    app.state.detector = detector
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"groomwatch.server.routes.{name}")
        app.include_router(module.router)
    _install_error_handlers(app)

    api_limit, other_limit = settings.api_max_body_bytes, settings.max_request_body_bytes

    def body_limit(path: str) -> int:
        return api_limit if path.startswith(API_BODY_PATHS) else other_limit

    # The append's fast path inside the service's middleware (request id, access log, metrics,
    # headers, body limits), so that its answers are logged, counted and limited like others.
    app.add_middleware(AppendFastPath)
    app.add_middleware(ServiceMiddleware, limit_for=body_limit)
    return app
