"""Write transactions that hold their lock from the first read to the commit.

- PostgreSQL: an ordinary transaction; callers lock the rows they change
  (``SELECT ... FOR UPDATE``; ``SKIP LOCKED`` for queues).
- SQLite: one writer at a time for the whole database. Threads of this process queue on a
  process-wide lock first, then processes sharing the file (``groomwatch serve --workers N``) on an
  advisory lock of a file beside the database (``<database>-writer.lock``, ``flock``), both fair
  and without polling; then SQLite's write lock is taken with ``BEGIN IMMEDIATE`` before the first
  read, so that a writer outside these locks makes this one wait (``busy_timeout``) instead of
  failing later on a stale snapshot.

Why the file lock: without it, processes meet only at SQLite's own lock, whose busy handler sleeps
1, 2, 5, 10... ms between tries. A waiting append then sleeps for milliseconds while the lock has
long been free, which, with several workers at hundreds of appends a second, made the slowest
appends tens of milliseconds slower. ``flock`` wakes the next waiter as soon as the lock is
released, and the kernel releases it if the holding process dies (even by SIGKILL).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection
from sqlalchemy.orm import Session

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

_SQLITE_WRITERS = threading.Lock()
_LOCK_FILES: dict[tuple[int, str], int] = {}  # (pid, path): a forked child opens its own
_LOCK_FILES_GUARD = threading.Lock()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _writer_lock_fd(session: Session) -> int | None:
    """The open lock file of this session's SQLite database file (None for in-memory ones)."""
    bind = session.get_bind()
    return writer_lock_fd((bind.engine if isinstance(bind, Connection) else bind).url.database)


def writer_lock_fd(database: str | None) -> int | None:
    """The open lock file of the SQLite database file ``database`` (None for in-memory ones)."""
    if fcntl is None:  # pragma: no cover
        return None
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    path = os.path.abspath(database) + "-writer.lock"
    key = (os.getpid(), path)  # flock locks belong to the open file, which fork() shares
    with _LOCK_FILES_GUARD:
        fd = _LOCK_FILES.get(key)
        if fd is None:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            _LOCK_FILES[key] = fd
    return fd


@contextmanager
def sqlite_writer(fd: int | None) -> Iterator[None]:
    """SQLite: this process's turn to write (threads queue on a lock, processes on ``flock`` of
    the lock file ``fd``, see the module's text). The block then takes SQLite's own lock with
    ``BEGIN IMMEDIATE``."""
    with _SQLITE_WRITERS:
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def write_transaction(session: Session) -> Iterator[None]:
    """Run the block in a write transaction of ``session``; the block commits. Whatever it does
    not commit is rolled back. Objects already loaded stay usable (``expire_on_commit=False``)."""
    if is_postgres(session):
        session.commit()  # end any read transaction: the block starts a fresh one
        try:
            yield
        finally:
            if session.in_transaction():
                session.rollback()
        return
    session.commit()
    connection = session.connection()  # checked out before queueing, never while holding the lock
    with sqlite_writer(_writer_lock_fd(session)):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            if session.in_transaction():
                session.rollback()
