"""Health, readiness, metrics, OpenAPI, security headers, request ids, and logs without text."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from groomwatch.server.logging import LOGGER_NAME, JsonFormatter


def test_health_readiness_and_metrics(api: Any, kit: Any) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "detector": "ok"}
    api.append("m1", kit.messages(kit.grooming))
    text = api.client.get("/metrics").text
    assert "groomwatch_http_requests_total" in text
    assert 'route="/v1/conversations/{id}/messages"' in text
    assert "groomwatch_alerts_total" in text
    assert "m1" not in text.replace("m1_", "")  # no conversation ids in labels


def test_readiness_fails_without_a_detector(sqlite_api: Any) -> None:
    api = sqlite_api
    detector = api.client.app.state.detector
    api.client.app.state.detector = None
    try:
        r = api.client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["detector"] == "not loaded"
        blocked = api.append("nd", [{"text": "hi"}])
        assert blocked.status_code == 503
    finally:
        api.client.app.state.detector = detector


def test_openapi_documents_the_contract(sqlite_api: Any) -> None:
    api = sqlite_api
    spec = api.client.get("/openapi.json").json()
    for path in (
        "/v1/assessments",
        "/v1/conversations/{id}/messages",
        "/v1/conversations/{id}",
        "/v1/reviews",
        "/v1/reviews/{review_id}/decision",
        "/v1/tactics",
        "/healthz",
        "/readyz",
    ):
        assert path in spec["paths"], path
    assert api.client.get("/docs").status_code == 200


def test_security_headers_and_request_id(sqlite_api: Any) -> None:
    api = sqlite_api
    r = api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-request-id"] == "abc-123"
    fresh = api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert fresh.headers["x-request-id"] != "bad id\twith spaces"
    assert len(fresh.headers["x-request-id"]) == 32


def test_tactic_catalogue(sqlite_api: Any) -> None:
    api = sqlite_api
    body = api.client.get("/v1/tactics", headers=api.auth()).json()
    names = {t["name"] for t in body["data"]}
    assert body["count"] == len(body["data"]) == 12
    assert {"secrecy", "isolation", "gifts_and_money", "image_request", "meeting"} <= names
    for t in body["data"]:
        assert t["title"]
        assert t["description"]
        assert t["examples"]


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def server_logs() -> Any:
    handler = _Collect()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_logs_carry_no_text_ids_or_keys(
    api: Any, kit: Any, server_logs: Any, webhook_receiver: Any
) -> None:
    marker = "LOGCHECK-1b2c3d"
    api.set_tenant("acme", webhook_url=webhook_receiver.url, webhook_secret=webhook_receiver.secret)
    pairs = [*kit.grooming, ("adult1", f"{marker} keep it secret")]
    api.append(f"conv-{marker}", kit.messages(pairs))
    api.client.post(
        f"/v1/conversations/conv-{marker}/messages",
        json={"messages": [{"text": 7, "author": marker}]},
        headers=api.auth(),
    )
    api.client.post(
        "/v1/assessments",
        json={"conversation": {"id": marker, "messages": [{"text": marker}]}},
        headers=api.auth(),
    )
    webhook_receiver.wait_for(1)
    deadline = time.monotonic() + 10
    while not any("webhook attempt" in line for line in server_logs.lines):
        assert time.monotonic() < deadline, "no webhook log line"
        time.sleep(0.02)
    lines = "\n".join(server_logs.lines)
    assert '"route": "/v1/conversations/{id}/messages"' in lines
    assert '"tenant": "acme"' in lines
    assert "webhook attempt" in lines
    assert marker not in lines
    assert api.keys["acme"] not in lines
    assert webhook_receiver.secret not in lines


def test_appends_served_by_the_fast_path_carry_their_route_in_metrics(
    sqlite_api: Any, kit: Any
) -> None:
    from prometheus_client import REGISTRY

    labels = {"method": "POST", "route": "/v1/conversations/{id}/messages", "status": "200"}

    def served() -> float:
        return REGISTRY.get_sample_value("groomwatch_http_requests_total", labels) or 0.0

    before = served()
    for i in range(3):  # well-formed appends: answered by the fast path, not the route
        assert sqlite_api.append(f"fp-{i}", kit.messages(kit.ordinary[:1])).status_code == 200
    assert served() - before == 3
