"""Persistence shared by the API (``server/``) and the hotline (``hotline/``): one SQLAlchemy 2
declarative base, engine and session factories, and Alembic migrations.

SQLite is the embedded default (a file in ``Settings.data_dir``); PostgreSQL is for production
(``GROOMWATCH_DATABASE_URL=postgresql+psycopg://...``). Table modules: ``groomwatch.server.models``
(tenants, API keys, streamed conversations, alerts, webhook outbox) and
``groomwatch.hotline.models`` (reports, cases, evidence, users, audit log). Each has its own Alembic
branch (``api``, ``hotline``) under ``db/migrations/versions``; ``upgrade heads`` applies both.
"""

from __future__ import annotations

from groomwatch.db.base import Base, create_db_engine, make_session_factory, upgrade_database

__all__ = ["Base", "create_db_engine", "make_session_factory", "upgrade_database"]
