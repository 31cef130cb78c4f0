"""Tenants and their API keys.

A key looks like ``gwk_<prefix>_<secret>``: the 12-character ``prefix`` finds the row, the SHA-256
digest of the whole key is what is stored and compared (in constant time). The key has 256 bits of
randomness, so a fast hash is the right tool (a slow password hash would only slow every request);
the key is shown once, when it is made, and cannot be recovered from the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groomwatch.errors import InputError
from groomwatch.server.models import ApiKey, Tenant, utcnow

KEY_PATTERN = re.compile(r"gwk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
TENANT_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new API key: ``key`` is shown once and never stored."""

    tenant: str
    key: str
    prefix: str


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def _new_key() -> tuple[str, str]:
    prefix = secrets.token_hex(6)
    return prefix, f"gwk_{prefix}_{secrets.token_urlsafe(32)}"


def issue_key(session: Session, tenant: Tenant) -> IssuedKey:
    prefix, key = _new_key()
    session.add(ApiKey(tenant=tenant, prefix=prefix, digest=key_digest(key)))
    return IssuedKey(tenant=tenant.name, key=key, prefix=prefix)


def create_tenant(session: Session, name: str) -> IssuedKey:
    """A new tenant and its first key. Raises :class:`InputError` for a bad or taken name."""
    if not TENANT_NAME.fullmatch(name):
        raise InputError(
            f"tenant name {name!r}: use 1-100 lowercase letters, digits, '.', '_' or '-'"
        )
    if session.scalar(select(Tenant.id).where(Tenant.name == name)) is not None:
        raise InputError(f"tenant {name!r} already exists")
    tenant = Tenant(name=name)
    session.add(tenant)
    session.flush()
    return issue_key(session, tenant)


def get_tenant_by_name(session: Session, name: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.name == name))
    if tenant is None:
        raise InputError(f"no tenant named {name!r}")
    return tenant


def rotate_key(session: Session, name: str) -> IssuedKey:
    """Revoke every key of the tenant and issue a new one."""
    tenant = get_tenant_by_name(session, name)
    now = utcnow()
    for key in tenant.keys:
        if key.revoked_at is None:
            key.revoked_at = now
    return issue_key(session, tenant)


def authenticate(session: Session, key: str) -> Tenant | None:
    """The tenant owning ``key`` if it is a valid, unrevoked key; None otherwise."""
    m = KEY_PATTERN.fullmatch(key)
    if m is None:
        return None
    row = session.execute(
        select(ApiKey.digest, Tenant)
        .join(Tenant, Tenant.id == ApiKey.tenant_id)
        .where(ApiKey.prefix == m.group(1), ApiKey.revoked_at.is_(None))
    ).first()
    digest = key_digest(key)
    if row is None:
        hmac.compare_digest(digest, "0" * 64)  # same work whether or not the prefix exists
        return None
    if not hmac.compare_digest(digest, row[0]):
        return None
    tenant: Tenant = row[1]
    return tenant


class TenantCache:
    """Authenticated tenants by key digest, for ``ttl`` seconds, so most requests skip the key
    lookup. A rotated key, or changed settings, take effect in each process within ``ttl``.

    A lookup opens its own short session (from ``session_factory``) only when the key is not
    cached, and returns the tenant detached from it: its columns stay readable, and the request's
    own session (if any) is never made to start a transaction for authentication."""

    def __init__(self, ttl: float, *, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Tenant]] = {}
        self._lock = threading.Lock()

    def authenticate(self, session_factory: Callable[[], Session], key: str) -> Tenant | None:
        digest = key_digest(key) if self.ttl > 0 and KEY_PATTERN.fullmatch(key) else None
        now = time.monotonic()
        if digest is not None:
            with self._lock:
                hit = self._entries.get(digest)
            if hit is not None and hit[0] > now:
                return hit[1]
        with session_factory() as session:
            tenant = authenticate(session, key)
            if tenant is not None:
                session.expunge(tenant)  # a detached snapshot: its plain columns stay readable
        if tenant is not None and digest is not None:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[digest] = (now + self.ttl, tenant)
        return tenant


def describe_tenant(tenant: Tenant) -> dict[str, Any]:
    """What ``tenants list`` shows: never a key or the webhook secret."""
    return {
        "name": tenant.name,
        "created_at": tenant.created_at.isoformat(),
        "threshold": tenant.threshold,
        "window": tenant.window,
        "min_messages": tenant.min_messages,
        "rate_limit": tenant.rate_limit,
        "webhook_url": tenant.webhook_url,
        "webhook_secret_set": tenant.webhook_secret is not None,
        "active_keys": [k.prefix for k in tenant.keys if k.revoked_at is None],
    }
