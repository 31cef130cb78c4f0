"""Analyst accounts: argon2id password hashes (argon2-cffi), roles, and lockout after repeated
failed logins. A failed login for an unknown e-mail costs the same time as for a known one."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groomwatch.errors import RecordError
from groomwatch.hotline import audit
from groomwatch.hotline.models import User
from groomwatch.hotline.workflow import Role, as_utc, utcnow

_hasher = PasswordHasher()
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}")
MIN_PASSWORD_LENGTH = 12
# Verified against when the e-mail is unknown, so that the answer takes as long.
_DUMMY_HASH = _hasher.hash("not a password: evens out the timing of unknown users")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session, email: str, password: str, role: Role | str, *, actor: str = "cli"
) -> User:
    """A new account; raises :class:`RecordError` naming ``email``, ``role`` or ``password``."""
    email = normalise_email(email)
    if not _EMAIL.fullmatch(email):
        raise RecordError("is not an e-mail address", field="email")
    try:
        role = Role(role)
    except ValueError:
        raise RecordError("must be analyst, supervisor or admin", field="role") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RecordError(f"must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise RecordError("a user with this e-mail address exists already", field="email")
    user = User(
        email=email,
        password_hash=_hasher.hash(password),
        role=role.value,
        active=True,
        failed_logins=0,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        details={"role": role.value},
    )
    return user


class LoginOutcome(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None


def authenticate(
    session: Session,
    email: str,
    password: str,
    *,
    max_failures: int = 5,
    lockout_minutes: int = 15,
) -> LoginResult:
    """Check a login; counts failures and locks the account for ``lockout_minutes`` after
    ``max_failures`` in a row. Every attempt is audit-logged (never the password). The caller
    commits."""
    email = normalise_email(email)
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    now = utcnow()
    if user is None or not user.active:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        audit.record(
            session,
            actor="public",
            action="login.fail",
            object_type="user",
            object_id=user.id if user else "unknown",
            details={"reason": "unknown user"},
        )
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        audit.record(
            session,
            actor="public",
            action="login.fail",
            object_type="user",
            object_id=user.id,
            details={"reason": "locked"},
        )
        return LoginResult(LoginOutcome.LOCKED, user)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins += 1
        details: dict[str, object] = {"reason": "bad password", "failures": user.failed_logins}
        if user.failed_logins >= max_failures:
            user.locked_until = now + timedelta(minutes=lockout_minutes)
            user.failed_logins = 0
            details["locked_minutes"] = lockout_minutes
        audit.record(
            session,
            actor="public",
            action="login.fail",
            object_type="user",
            object_id=user.id,
            details=details,
        )
        if user.locked_until is not None and as_utc(user.locked_until) > now:
            return LoginResult(LoginOutcome.LOCKED, user)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    audit.record(
        session, actor=f"user:{user.id}", action="login.ok", object_type="user", object_id=user.id
    )
    return LoginResult(LoginOutcome.OK, user)


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RecordError(f"must be at least {MIN_PASSWORD_LENGTH} characters", field="password")
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(
        session, actor=actor, action="user.password", object_type="user", object_id=user.id
    )


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.email)))
