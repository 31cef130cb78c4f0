"""Fixtures shared by the whole suite: paths to the shared data, and real databases.

PostgreSQL is real: a throw-away cluster from Debian's packages (``initdb``/``pg_ctl``), started on
loopback in a temporary folder for the test session, run as the ``postgres`` user when the tests
run as root. Where PostgreSQL is not installed the tests that need it are skipped, unless
``GROOMWATCH_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), in which case they fail.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (read-only corpora); tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside the project")
    return SHARED_DATA


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A running PostgreSQL server for the session; yields a URL without a database name,
    ``postgresql+psycopg://postgres@127.0.0.1:PORT``."""
    bindir = _pg_bindir()
    if bindir is None:
        if os.environ.get("GROOMWATCH_REQUIRE_POSTGRES") == "1":
            pytest.fail("PostgreSQL is required (GROOMWATCH_REQUIRE_POSTGRES=1) but not installed")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    as_root = os.geteuid() == 0
    workdir = Path(tempfile.mkdtemp(prefix="groomwatch-pg-"))
    datadir = workdir / "data"
    port = _free_port()

    def run(*args: str) -> None:
        cmd = list(args)
        if as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    if as_root:
        shutil.chown(workdir, "postgres", "postgres")
    run(
        str(bindir / "initdb"),
        "-D",
        str(datadir),
        "-U",
        "postgres",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C",
    )
    run(
        str(bindir / "pg_ctl"),
        "-D",
        str(datadir),
        "-w",
        "-t",
        "60",
        "-l",
        str(workdir / "log"),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {workdir} -c fsync=off -c max_connections=200",
        "start",
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            (["runuser", "-u", "postgres", "--"] if as_root else [])
            + [str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{postgres_server}/{name}"
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'groomwatch.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test that takes this runs twice: on a SQLite file and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'groomwatch.db'}"
    return str(request.getfixturevalue("postgres_url"))
