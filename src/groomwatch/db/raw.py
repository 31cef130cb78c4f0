"""Driver connections for a hot path that runs a few fixed SQL statements very often.

SQLAlchemy stays the way every other part of groomwatch talks to the database (models, Alembic
migrations, queries). But an API append is a handful of small statements, hundreds of times a
second, and the ORM session and Core's per-statement machinery (compile cache look-ups, result
processing, transaction bookkeeping) cost more CPU than the statements themselves: measured in
``benchmarks/bench_api_append.py``. :class:`RawConnections` hands out the *driver's* connection
(``sqlite3`` or psycopg 3), taken from the engine's own pool, so such a path can run prebuilt SQL
strings on it directly (psycopg prepares a statement on the server after a few executions).

The connections stay checked out of the engine's pool while idle here (up to ``max_idle``), so
taking one costs a list pop; the engine's ``pool_pre_ping`` is replaced by a ping only of a
connection idle for longer than ``ping_after`` seconds, and a connection that fails is thrown
away (invalidated) instead of being reused.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Engine

_NAMED = re.compile(r"(?<![:\w]):(\w+)")


def pyformat(sql: str) -> str:
    """``:name`` parameters (sqlite3's named style) as ``%(name)s`` (psycopg's); a literal ``%``
    doubled. Casts written ``::type`` are left alone."""
    return _NAMED.sub(r"%(\1)s", sql.replace("%", "%%"))


class RawConnections:
    """Driver connections of ``engine``, for one process (see the module's text)."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_idle: int = 8,
        ping_after: float = 10.0,
        autocommit: bool = False,
    ) -> None:
        self.engine = engine
        self.autocommit = autocommit  # the driver's (psycopg) autocommit while here
        self.dialect = engine.dialect.name
        self.max_idle = max_idle
        self.ping_after = ping_after
        self._idle: list[tuple[Any, float]] = []  # (pool connection, when it was given back)
        self._lock = threading.Lock()
        self._closed = False

    def _new(self) -> Any:
        fairy = self.engine.raw_connection()
        if self.autocommit:
            driver: Any = fairy.driver_connection
            driver.autocommit = True
        return fairy

    def _take(self) -> Any:
        with self._lock:
            taken = self._idle.pop() if self._idle else None
        if taken is None:
            return self._new()
        fairy, since = taken
        if time.monotonic() - since > self.ping_after and not self._alive(fairy):
            fairy.invalidate()
            return self._new()
        return fairy

    @staticmethod
    def _alive(fairy: Any) -> bool:
        try:
            cursor = fairy.driver_connection.cursor()
            try:
                cursor.execute("SELECT 1")
                cursor.fetchall()
            finally:
                cursor.close()
            fairy.driver_connection.rollback()
            return True
        except Exception:
            return False

    def _give_back(self, fairy: Any) -> None:
        with self._lock:
            if not self._closed and len(self._idle) < self.max_idle:
                self._idle.append((fairy, time.monotonic()))
                return
        self._to_pool(fairy)

    def _to_pool(self, fairy: Any) -> None:
        """Back to the engine's pool, as the engine's other users expect it (not autocommit)."""
        if self.autocommit:
            try:
                fairy.driver_connection.autocommit = False
            except Exception:
                fairy.invalidate()
                return
        fairy.close()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """The driver's connection, outside any transaction. The block commits what it writes;
        whatever it leaves open is rolled back. After an error the connection is rolled back,
        or, if that fails too (a broken connection), invalidated."""
        fairy = self._take()
        driver = fairy.driver_connection
        try:
            yield driver
        except BaseException:
            try:
                driver.rollback()
            except Exception:
                fairy.invalidate()
                raise
            self._give_back(fairy)
            raise
        if _in_transaction(driver):
            driver.rollback()
        self._give_back(fairy)

    def close(self) -> None:
        """Give every idle connection back to the engine's pool (at shutdown)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for fairy, _ in idle:
            self._to_pool(fairy)


def _in_transaction(driver: Any) -> bool:
    in_transaction = getattr(driver, "in_transaction", None)  # sqlite3
    if in_transaction is not None:
        return bool(in_transaction)
    info = getattr(driver, "info", None)  # psycopg: IDLE is 0
    return info is not None and info.transaction_status != 0
