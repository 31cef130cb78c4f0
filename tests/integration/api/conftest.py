"""Fixtures of the detection API tests: a migrated database, the application with a real
detector, tenants with keys, a real webhook receiver on loopback, and real server processes.

Conversations here are synthetic, written for these tests: tactics in neutral words (flattery, age
and school questions, gifts, secrecy, moving to another app, asking for a photo, meeting)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
from groomwatch.server.app import create_app
from groomwatch.server.tenants import create_tenant, get_tenant_by_name
from groomwatch.server.webhooks import SignatureError, verify_signature
from groomwatch.settings import Settings

GROOMING = [
    ("adult1", "hey, you seem really mature for your age"),
    ("kid1", "thanks lol"),
    ("adult1", "how old are you? what school do you go to?"),
    ("kid1", "im 13, i go to the school near the park"),
    ("adult1", "are your parents home right now?"),
    ("adult1", "you're special, only I really understand you"),
    ("adult1", "i can send you a gift card for your game"),
    ("adult1", "this is just between us ok? don't tell your mum"),
    ("adult1", "delete our chats after"),
    ("adult1", "add me on snapchat, it's more private"),
    ("adult1", "send me a photo of you"),
    ("adult1", "we should meet on saturday at the park, i can pick you up"),
]
ORDINARY = [
    ("amy", "did you finish the maths homework?"),
    ("ben", "almost, question 4 is hard"),
    ("amy", "football practice is at 5 tomorrow"),
    ("ben", "ok see you there"),
]
WEBHOOK_SECRET = "whsec_test_secret_0123456789abcdef"


def messages(pairs: list[tuple[str, str]], *, ids: str | None = None) -> list[dict[str, Any]]:
    out = []
    for i, (author, text) in enumerate(pairs):
        m: dict[str, Any] = {"author": author, "text": text, "time": f"2026-01-01T10:{i:02d}:00Z"}
        if ids is not None:
            m["id"] = f"{ids}-{i}"
        out.append(m)
    return out


def api_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "secret_key": "test-secret-" + "x" * 40,
        "data_dir": data_dir,
        "database_url": database_url,
        "webhook_poll_seconds": 0.05,
        "webhook_backoff_seconds": 0.05,
        "webhook_timeout_seconds": 2.0,
        "api_key_cache_seconds": 0,  # tenants' settings change between requests in these tests
    }
    return Settings(**{**values, **overrides})


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    settings: Settings
    session_factory: Any

    def auth(self, tenant: str = "acme") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def append(
        self, cid: str, msgs: list[dict[str, Any]], tenant: str = "acme", **headers: str
    ) -> httpx.Response:
        return self.client.post(
            f"/v1/conversations/{cid}/messages",
            json={"messages": msgs},
            headers={**self.auth(tenant), **headers},
        )

    def set_tenant(self, name: str, **values: Any) -> None:
        with self.session_factory() as session:
            tenant = get_tenant_by_name(session, name)
            for k, v in values.items():
                setattr(tenant, k, v)
            session.commit()


def make_tenants(url: str, names: tuple[str, ...] = ("acme", "other")) -> dict[str, str]:
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as session:
            keys = {n: create_tenant(session, n).key for n in names}
            session.commit()
    finally:
        engine.dispose()
    return keys


@dataclass(frozen=True)
class Kit:
    """What test modules use from here (they cannot import conftest)."""

    grooming: list[tuple[str, str]]
    ordinary: list[tuple[str, str]]
    messages: Callable[..., list[dict[str, Any]]]
    make_tenants: Callable[..., dict[str, str]]
    settings: Callable[..., Settings]


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit(GROOMING, ORDINARY, messages, make_tenants, api_settings)


@pytest.fixture(scope="session")
def detector() -> Any:
    from groomwatch.detect import Detector

    return Detector.load()


@pytest.fixture(scope="session")
def alert_threshold(detector: Any) -> float:
    """The threshold the tests' tenants use: the highest risk the streaming detector reaches on
    the grooming test conversation, so the warning fires there at a known message whatever the
    shipped model's own calibration (the detector's quality is tested in tests/unit/detect)."""
    from groomwatch.conversation import Message

    monitor = detector.monitor()
    risks = [monitor.update(Message(text=t, author=a)).risk for a, t in GROOMING]
    return float(max(risks)) - 1e-6


@pytest.fixture(scope="session")
def alert_index(detector: Any, alert_threshold: float) -> int:
    """The message of the grooming test conversation at which the tests' warning fires."""
    from groomwatch.conversation import Message

    monitor = detector.monitor()
    risks = [monitor.update(Message(text=t, author=a)).risk for a, t in GROOMING]
    return next(i for i, r in enumerate(risks) if r >= alert_threshold)


@pytest.fixture
def api(database_url: str, tmp_path: Path, detector: Any, alert_threshold: float) -> Iterator[Api]:
    """The application on SQLite and on PostgreSQL (each test using it runs twice)."""
    yield from _api(database_url, tmp_path, detector, alert_threshold)


@pytest.fixture
def sqlite_api(
    sqlite_url: str, tmp_path: Path, detector: Any, alert_threshold: float
) -> Iterator[Api]:
    """The application on SQLite only, for tests of the HTTP layer that the database does not
    change (authentication, validation), to keep the suite fast."""
    yield from _api(sqlite_url, tmp_path, detector, alert_threshold)


def _api(database_url: str, tmp_path: Path, detector: Any, alert_threshold: float) -> Iterator[Api]:
    upgrade_database(database_url)
    keys = make_tenants(database_url, ("acme", "other", "calm"))
    settings = api_settings(database_url, tmp_path)
    app = create_app(settings, detector=detector)
    with TestClient(app) as client:
        result = Api(client, keys, settings, app.state.session_factory)
        result.set_tenant("acme", threshold=alert_threshold, window=1, min_messages=1)
        result.set_tenant("other", threshold=alert_threshold, window=1, min_messages=1)
        result.set_tenant("calm", threshold=1.0, window=1, min_messages=1)  # never fires
        yield result


# --- a real webhook receiver -------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    url: str
    secret: str
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    fail_next: int = 0
    fail_always: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event_ids(self) -> set[str]:
        with self.lock:
            return {e["id"] for e in self.events}

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                unique = {e["id"]: e for e in self.events}
            if len(unique) >= n:
                return list(unique.values())
            time.sleep(0.05)
        raise AssertionError(f"expected {n} webhook events, got {len(unique)}")


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(url="", secret=WEBHOOK_SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                verify_signature(receiver.secret, body, dict(self.headers.items()))
            except SignatureError:
                with receiver.lock:
                    receiver.rejected += 1
                self.send_response(401)
                self.end_headers()
                return
            with receiver.lock:
                failing = receiver.fail_always or receiver.fail_next > 0
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                if not failing:
                    event = json.loads(body)
                    event["_headers"] = dict(self.headers.items())
                    receiver.events.append(event)
            self.send_response(503 if failing else 204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/groomwatch"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# --- real server processes ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """``groomwatch serve`` in a subprocess."""

    env: dict[str, str]
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        command = [
            sys.executable,
            "-c",
            "from groomwatch.cli import main; main()",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("server did not become ready")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    started: list[ServerProcess] = []

    def make(database_url: str, **env: str) -> ServerProcess:
        full = {
            **os.environ,
            "GROOMWATCH_ENV": "test",
            "GROOMWATCH_SECRET_KEY": "test-secret-" + "x" * 40,
            "GROOMWATCH_DATA_DIR": str(tmp_path),
            "GROOMWATCH_DATABASE_URL": database_url,
            "GROOMWATCH_WEBHOOK_POLL_SECONDS": "0.1",
            "GROOMWATCH_WEBHOOK_BACKOFF_SECONDS": "0.1",
            "GROOMWATCH_WEBHOOK_BACKOFF_MAX_SECONDS": "0.5",
            "GROOMWATCH_WEBHOOK_LEASE_SECONDS": "3",
            "GROOMWATCH_API_RATE_LIMIT": "100000",
            "GROOMWATCH_API_RATE_BURST": "100000",
            **env,
        }
        server = ServerProcess(full, free_port(), tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server

    yield make
    for s in started:
        s.stop()
