"""Commands of the service: ``serve`` (the HTTP API and pages) and ``tenants ...`` (platforms using
the detection API, their keys and early-warning settings).

They use the database of ``GROOMWATCH_DATABASE_URL`` (a SQLite file in ``GROOMWATCH_DATA_DIR`` by
default), brought to the newest schema first, and need the ``server`` extra (imported inside the
commands, so the core install works without it).
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer

from groomwatch.cli.app import app
from groomwatch.cli.common import database_session, load_settings
from groomwatch.errors import InputError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from groomwatch.server.tenants import IssuedKey

tenants_app = typer.Typer(
    help="Platforms using the detection API: keys, early-warning settings, webhook.",
    no_args_is_help=True,
)
app.add_typer(tenants_app, name="tenants")

DEMO_TENANT = "demo"


# --- serve ---------------------------------------------------------------------------------------


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (1-65535).")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Server processes (uvicorn workers); about one core each.")
    ] = 1,
    demo: Annotated[
        bool,
        typer.Option(help="Create the 'demo' tenant if absent and print a fresh key and a curl."),
    ] = False,
) -> None:
    """Run the HTTP service: the detection API (/v1, OpenAPI at /docs) and the hotline pages.

    The database is migrated first (``alembic upgrade heads``); the workers share it. An append
    runs on its worker's event loop, so one worker uses about one core: use as many workers as
    cores. They work on SQLite too (writes take turns through a lock file beside the database);
    PostgreSQL (GROOMWATCH_DATABASE_URL) lets writes to different conversations overlap and
    workers run on several hosts."""
    try:
        import uvicorn
    except ImportError:  # pragma: no cover
        raise InputError("serve needs the server extra: pip install 'groomwatch[server]'") from None
    if not 1 <= port <= 65535:
        raise InputError(f"--port: {port} is not a port (1-65535)")
    if workers < 1:
        raise InputError("--workers: must be at least 1")
    settings = load_settings()
    with database_session(settings) as session:
        if demo:
            issued = _demo_key(session)
            session.commit()
            base = f"http://{_url_host(host)}:{port}"
            typer.echo(f"groomwatch: serving on {base}  (OpenAPI: {base}/docs)")
            typer.echo(f"demo tenant API key (shown once): {issued.key}")
            typer.echo("try:")
            typer.echo(
                f"  curl -s -H 'Authorization: Bearer {issued.key}' "
                f"-H 'Content-Type: application/json' "
                f'-d \'{{"messages": [{{"author": "u1", "text": "hi, how was school?"}}]}}\' '
                f"{base}/v1/conversations/demo-1/messages"
            )
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="groomwatch-metrics-")
    uvicorn.run(
        "groomwatch.server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # the service logs its own access lines, without paths' ids or text
        log_level="warning",
        proxy_headers=True,
        server_header=False,
        timeout_graceful_shutdown=10,
    )


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):  # noqa: S104 - only used to print a URL
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def _demo_key(session: Session) -> IssuedKey:
    from sqlalchemy import select

    from groomwatch.server.models import Tenant
    from groomwatch.server.tenants import create_tenant, rotate_key

    if session.scalar(select(Tenant.id).where(Tenant.name == DEMO_TENANT)) is None:
        return create_tenant(session, DEMO_TENANT)
    return rotate_key(session, DEMO_TENANT)


# --- tenants -------------------------------------------------------------------------------------


@tenants_app.command("create")
def tenants_create(
    name: Annotated[str, typer.Argument(help="Lowercase letters, digits, '.', '_', '-'.")],
) -> None:
    """Create a tenant and print its first API key (shown once, stored only as a digest)."""
    from groomwatch.server.tenants import create_tenant

    with database_session(load_settings()) as session:
        issued = create_tenant(session, name)
        session.commit()
    typer.echo(f"tenant {issued.tenant} created")
    typer.echo(f"API key (shown once, store it now): {issued.key}")


@tenants_app.command("list")
def tenants_list(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object a line.")] = False,
) -> None:
    """The tenants, their settings and the prefixes of their active keys (never keys)."""
    from sqlalchemy import select

    from groomwatch.server.models import Tenant
    from groomwatch.server.tenants import describe_tenant

    with database_session(load_settings()) as session:
        rows = [describe_tenant(t) for t in session.scalars(select(Tenant).order_by(Tenant.name))]
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("name", "threshold", "window", "min msgs", "rate/s", "webhook", "keys")
    for r in rows:
        table.add_row(
            r["name"],
            _or_default(r["threshold"]),
            _or_default(r["window"]),
            _or_default(r["min_messages"]),
            _or_default(r["rate_limit"]),
            r["webhook_url"] or "-",
            ", ".join(r["active_keys"]) or "-",
        )
    Console(highlight=False).print(table)


def _or_default(value: object) -> str:
    return "default" if value is None else str(value)


@tenants_app.command("rotate-key")
def tenants_rotate_key(name: str) -> None:
    """Revoke the tenant's keys and print a new one (shown once)."""
    from groomwatch.server.tenants import rotate_key

    with database_session(load_settings()) as session:
        issued = rotate_key(session, name)
        session.commit()
    typer.echo(f"tenant {issued.tenant}: previous keys revoked")
    typer.echo(f"API key (shown once, store it now): {issued.key}")


@tenants_app.command("set")
def tenants_set(
    name: str,
    threshold: Annotated[
        float | None, typer.Option(help="Risk (0-1) at which the warning fires.")
    ] = None,
    window: Annotated[
        int | None, typer.Option(help="Messages the risk must stay above the threshold.")
    ] = None,
    min_messages: Annotated[
        int | None, typer.Option(help="No warning before this many messages.")
    ] = None,
    rate_limit: Annotated[
        float | None, typer.Option(help="Requests a second per key, per process.")
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Where alerts are POSTed.")] = None,
    webhook_secret: Annotated[
        str | None, typer.Option(help="HMAC secret (at least 16 characters).")
    ] = None,
    new_webhook_secret: Annotated[
        bool, typer.Option(help="Generate a webhook secret and print it once.")
    ] = False,
    reset: Annotated[
        bool, typer.Option(help="Back to the model's defaults for threshold, window, min msgs.")
    ] = False,
    no_webhook: Annotated[bool, typer.Option(help="Remove the webhook.")] = False,
) -> None:
    """Change a tenant's early-warning settings, rate limit or webhook."""
    from groomwatch.server.tenants import describe_tenant, get_tenant_by_name

    if webhook_url is not None:
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"--webhook-url: not an http(s) URL: {webhook_url!r}")
    if rate_limit is not None and rate_limit <= 0:
        raise InputError("--rate-limit: must be above 0")
    _check_policy(threshold, window, min_messages)
    if webhook_secret is not None and len(webhook_secret) < 16:
        raise InputError("--webhook-secret: use at least 16 characters (or --new-webhook-secret)")
    printed_secret: str | None = None
    with database_session(load_settings()) as session:
        tenant = get_tenant_by_name(session, name)
        if reset:
            tenant.threshold = tenant.window = tenant.min_messages = None
        if threshold is not None:
            tenant.threshold = threshold
        if window is not None:
            tenant.window = window
        if min_messages is not None:
            tenant.min_messages = min_messages
        if rate_limit is not None:
            tenant.rate_limit = rate_limit
        if no_webhook:
            tenant.webhook_url = tenant.webhook_secret = None
        if webhook_url is not None:
            tenant.webhook_url = webhook_url
        if webhook_secret is not None:
            tenant.webhook_secret = webhook_secret
        if new_webhook_secret or (tenant.webhook_url and not tenant.webhook_secret):
            printed_secret = tenant.webhook_secret = "whsec_" + secrets.token_urlsafe(32)
        _check_policy(tenant.threshold, tenant.window, tenant.min_messages)
        session.commit()
        shown = describe_tenant(tenant)
    typer.echo(json.dumps(shown))
    if printed_secret:
        typer.echo(f"webhook secret (shown once, store it now): {printed_secret}")


def _check_policy(threshold: float | None, window: int | None, min_messages: int | None) -> None:
    """The same checks the detector's :class:`AlertPolicy` makes, with the option named."""
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise InputError("--threshold: must be between 0 and 1")
    if window is not None and window < 1:
        raise InputError("--window: must be at least 1")
    if min_messages is not None and min_messages < 1:
        raise InputError("--min-messages: must be at least 1")
