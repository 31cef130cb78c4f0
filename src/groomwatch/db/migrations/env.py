"""Alembic environment: runs migrations for the URL set by :func:`groomwatch.db.upgrade_database`
(or ``GROOMWATCH_DATABASE_URL`` when run with the ``alembic`` command)."""

from __future__ import annotations

from alembic import context

# Every table module, so that autogenerate sees the whole metadata.
import groomwatch.hotline.models
import groomwatch.server.models  # noqa: F401
from groomwatch.db.base import Base, create_db_engine

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from groomwatch.settings import get_settings

    return get_settings().resolved_database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
