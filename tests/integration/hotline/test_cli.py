"""``groomwatch users create``, ``audit verify`` and ``retention apply`` against a real SQLite
database (the commands run in-process through the console script's ``main``)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from groomwatch.cli import main
from groomwatch.db import create_db_engine, make_session_factory
from groomwatch.hotline import cases, reports
from groomwatch.hotline.evidence import EvidenceStore, Upload
from groomwatch.hotline.models import User
from groomwatch.hotline.reports import UploadLimits
from groomwatch.hotline.workflow import Status, utcnow
from groomwatch.settings import get_settings

from .conftest import png_bytes


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GROOMWATCH_DATABASE_URL", url)
    monkeypatch.setenv("GROOMWATCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GROOMWATCH_RETENTION_DAYS", json.dumps({"online_grooming": 1}))
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def run(argv: list[str], stdin: str = "", monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        sys.stdin = old
    return 0


def test_users_create(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            ["users", "create", "Ana@Hotline.example", "--role", "supervisor", "--password-stdin"],
            "a long enough password\n",
        )
        == 0
    )
    assert "created supervisor ana@hotline.example" in capsys.readouterr().out
    assert (
        run(
            ["users", "create", "ana@hotline.example", "--password-stdin"],
            "a long enough password\n",
        )
        == 2
    )
    assert "email: a user with this e-mail address exists already" in capsys.readouterr().err
    assert (
        run(
            ["users", "create", "b@hotline.example", "--role", "boss", "--password-stdin"],
            "a long enough password\n",
        )
        == 2
    )
    assert "role: must be analyst, supervisor or admin" in capsys.readouterr().err
    assert run(["users", "create", "c@hotline.example", "--password-stdin"], "short\n") == 2
    assert "password: must be at least 12 characters" in capsys.readouterr().err
    with make_session_factory(create_db_engine(env))() as s:
        user = s.query(User).one()
        assert user.role == "supervisor"
        assert user.password_hash.startswith("$argon2id$")


def test_audit_verify_and_tampering(env: str, capsys: pytest.CaptureFixture[str]) -> None:
    for i in range(3):
        assert (
            run(
                ["users", "create", f"u{i}@hotline.example", "--password-stdin"],
                "a long enough password\n",
            )
            == 0
        )
    capsys.readouterr()
    assert run(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "audit log intact: 3 entries" in out
    head = out.strip().rsplit(" ", 1)[-1]
    assert run(["audit", "verify", "--expect-head", head]) == 0
    engine = create_db_engine(env)
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER hotline_audit_log_no_update"))
        conn.execute(text("UPDATE hotline_audit_log SET actor = 'someone' WHERE seq = 2"))
    capsys.readouterr()
    assert run(["audit", "verify"]) == 1
    assert "audit log BROKEN at entry 2" in capsys.readouterr().err
    assert run(["audit", "verify", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["first_bad"] == 2


def test_retention_apply(env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        run(
            ["users", "create", "a@hotline.example", "--password-stdin"], "a long enough password\n"
        )
        == 0
    )
    store = EvidenceStore.for_data_dir(tmp_path)
    limits = UploadLimits(2**20, 5, 2**22)
    with make_session_factory(create_db_engine(env))() as s:
        user = s.query(User).one()
        sub = reports.submit(
            s,
            store,
            reports.validate_report_input(
                {
                    "category": "online_grooming",
                    "description": "x",
                    "anonymous": False,
                    "contact_email": "p@example.org",
                }
            ),
            screenshots=[Upload("a.png", png_bytes(5))],
            limits=limits,
        )
        cases.change_status(s, sub.report, Status.IN_ASSESSMENT, user)
        cases.change_status(s, sub.report, Status.CLOSED_NO_ACTION, user)
        sub.report.outcome_at = utcnow() - timedelta(days=2)
        s.commit()
        sha = sub.report.evidence[0].sha256
    capsys.readouterr()
    assert run(["retention", "apply", "--dry-run"]) == 0
    assert "would erase 1 report(s)" in capsys.readouterr().out
    assert store.exists(sha)
    assert run(["retention", "apply"]) == 0
    out = capsys.readouterr().out
    assert "erased 1 report(s); 1 file(s) deleted" in out
    assert sub.reference in out
    assert not store.exists(sha)
    assert run(["audit", "verify"]) == 0
