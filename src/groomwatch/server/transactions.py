"""Write transactions that hold their lock from the first read to the commit.

- PostgreSQL: an ordinary transaction; callers lock the rows they change
  (``SELECT ... FOR UPDATE``; ``SKIP LOCKED`` for queues).
- SQLite: one writer at a time for the whole database. Threads of this process queue on a
  process-wide lock first (fair and without polling), then take SQLite's write lock with
  ``BEGIN IMMEDIATE`` before the first read, so another process writing the same file makes this
  one wait (``busy_timeout``) instead of failing later on a stale snapshot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

_SQLITE_WRITERS = threading.Lock()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


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
    with _SQLITE_WRITERS:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            if session.in_transaction():
                session.rollback()
