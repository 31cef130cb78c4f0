"""What several command groups share: the settings, and a database session on a migrated
database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from groomwatch.errors import InputError
from groomwatch.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def load_settings() -> Settings:
    """The process settings; an invalid ``GROOMWATCH_*`` variable is bad input (exit 2)."""
    from pydantic import ValidationError

    from groomwatch.settings import get_settings

    try:
        return get_settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        raise InputError(f"settings: {where}: {err['msg']}") from None


@contextmanager
def database_session(settings: Settings) -> Iterator[Session]:
    """A session on the configured database, migrated to the newest schema first."""
    try:
        from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
    except ImportError:  # pragma: no cover - the server extra is not installed
        raise InputError(
            "this command needs the server extra: pip install 'groomwatch[server]'"
        ) from None
    url = settings.resolved_database_url
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()
