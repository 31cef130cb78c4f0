"""Fixtures of the hotline's database tests: a migrated database (SQLite and PostgreSQL through
``database_url``), an evidence store, and accounts."""

from __future__ import annotations

import io
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
from groomwatch.hotline.evidence import EvidenceStore, Upload
from groomwatch.hotline.models import User
from groomwatch.hotline.reports import UploadLimits
from groomwatch.hotline.users import create_user

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy (migrating per test is slow)."""
    path = tmp_path_factory.mktemp("hotline-template") / "template.db"
    upgrade_database(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: str) -> str:
    """A PostgreSQL database migrated once, used as the template of each test's database."""
    import psycopg

    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute('CREATE DATABASE "hotline_template"')
    upgrade_database(f"{postgres_server}/hotline_template")
    return "hotline_template"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hotline_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Like ``database_url`` (each test runs on SQLite and on PostgreSQL), but a fresh copy of a
    database migrated once per session."""
    if request.param == "sqlite":
        target = tmp_path / "groomwatch.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), target)
        yield f"sqlite:///{target}"
        return
    import psycopg

    server: str = request.getfixturevalue("postgres_server")
    template: str = request.getfixturevalue("_postgres_template")
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    name = "h_" + uuid.uuid4().hex[:12]
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield f"{server}/{name}"
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def session(hotline_database_url: str) -> Iterator[Session]:
    engine = create_db_engine(hotline_database_url)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence")


@pytest.fixture
def limits() -> UploadLimits:
    return UploadLimits(max_bytes=2 * 1024 * 1024, max_files=5, max_total_bytes=4 * 1024 * 1024)


@pytest.fixture
def analyst(session: Session) -> User:
    user = create_user(session, "ana@hotline.example", PASSWORD, "analyst")
    session.commit()
    return user


@pytest.fixture
def supervisor(session: Session) -> User:
    user = create_user(session, "sup@hotline.example", PASSWORD, "supervisor")
    session.commit()
    return user


def png_bytes(seed: int = 0, size: int = 64) -> bytes:
    """A generated test image (a gradient with a square): never a photo."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size))
    for x in range(size):
        for y in range(size):
            img.putpixel((x, y), ((x * 4 + seed) % 256, (y * 4) % 256, (seed * 37) % 256))
    ImageDraw.Draw(img).rectangle(
        (size // 4, size // 4, size // 2, size // 2), fill=(seed % 256, 0, 0)
    )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def screenshot() -> Upload:
    return Upload("screen shot.png", png_bytes(1))


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, with the cheapest parameters: the production cost (about 0.1 s a hash, far
    more on a loaded test machine) is a property of argon2-cffi, not of the code under test."""
    from argon2 import PasswordHasher

    from groomwatch.hotline import users

    monkeypatch.setattr(
        users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
