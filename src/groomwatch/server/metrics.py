"""Prometheus metrics of the service, served at ``/metrics``.

With several uvicorn workers in one container, set ``PROMETHEUS_MULTIPROC_DIR`` to an empty
folder before start-up (``groomwatch serve --workers N`` does it for you); ``/metrics`` then adds up
every worker's figures.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

REQUESTS = Counter("groomwatch_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "groomwatch_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
MESSAGES = Counter("groomwatch_messages_appended_total", "Messages appended to conversations")
DUPLICATES = Counter(
    "groomwatch_messages_duplicate_total", "Messages skipped as already stored (client id)"
)
REPLANNED = Counter(
    "groomwatch_appends_replanned_total",
    "SQLite appends planned again under the write lock (another writer changed the conversation)",
)
ALERTS = Counter("groomwatch_alerts_total", "Early warnings fired (one per conversation)")
ASSESSMENTS = Counter("groomwatch_assessments_total", "Whole conversations assessed")
WEBHOOKS = Counter("groomwatch_webhook_deliveries_total", "Webhook delivery attempts", ["outcome"])
ERASURES = Counter("groomwatch_conversations_erased_total", "Conversations erased")

CONTENT_TYPE = CONTENT_TYPE_LATEST


_REQUEST_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count a request and its duration. The labelled series are looked up once per (method,
    route template, status) and kept: ``labels()`` validates and locks on every call."""
    key = (method, route, status)
    children = _REQUEST_CHILDREN.get(key)
    if children is None:
        children = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
        if len(_REQUEST_CHILDREN) < 10_000:  # route templates, not paths: a few dozen keys
            _REQUEST_CHILDREN[key] = children
    children[0].inc()
    children[1].observe(seconds)


def render() -> bytes:
    """The exposition text: this process's metrics, or every worker's in multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest()
