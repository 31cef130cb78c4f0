"""``groomwatch tenants ...`` and ``serve --demo`` key handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from groomwatch.cli import main
from groomwatch.db import create_db_engine, make_session_factory
from groomwatch.server.tenants import authenticate
from groomwatch.settings import get_settings


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("GROOMWATCH_DATABASE_URL", url)
    monkeypatch.setenv("GROOMWATCH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out = capsys.readouterr()
        return code, out.out, out.err

    run.url = url  # type: ignore[attr-defined]
    yield run
    get_settings.cache_clear()


def _key(out: str) -> str:
    return next(line.split(": ")[-1] for line in out.splitlines() if "API key" in line)


def _tenant_for(url: str, key: str) -> str | None:
    engine = create_db_engine(url)
    try:
        with make_session_factory(engine)() as session:
            tenant = authenticate(session, key)
            return tenant.name if tenant else None
    finally:
        engine.dispose()


def test_create_list_rotate_and_set(cli: Any) -> None:
    code, out, _ = cli("tenants", "create", "acme")
    assert code == 0
    key = _key(out)
    assert key.startswith("gwk_")
    assert _tenant_for(cli.url, key) == "acme"

    code, _, err = cli("tenants", "create", "acme")
    assert code == 2
    assert "already exists" in err
    code, _, err = cli("tenants", "create", "Bad Name")
    assert code == 2
    assert "tenant name" in err

    code, out, _ = cli("tenants", "list", "--json")
    listed = json.loads(out.splitlines()[0])
    assert listed["name"] == "acme"
    assert listed["active_keys"] == [key.split("_")[1]]
    assert key not in out

    code, out, _ = cli("tenants", "rotate-key", "acme")
    new_key = _key(out)
    assert _tenant_for(cli.url, key) is None
    assert _tenant_for(cli.url, new_key) == "acme"

    code, out, _ = cli(
        "tenants",
        "set",
        "acme",
        "--threshold",
        "0.7",
        "--window",
        "2",
        "--webhook-url",
        "https://example.org/hooks",
    )
    assert code == 0
    shown = json.loads(out.splitlines()[0])
    assert (shown["threshold"], shown["window"], shown["webhook_secret_set"]) == (0.7, 2, True)
    assert "webhook secret (shown once" in out  # generated because none was set

    code, _, err = cli("tenants", "set", "acme", "--webhook-url", "ftp://x")
    assert code == 2
    assert "--webhook-url" in err
    code, _, err = cli("tenants", "set", "acme", "--threshold", "1.5")
    assert code == 2
    code, _, err = cli("tenants", "set", "nobody", "--threshold", "0.5")
    assert code == 2
    assert "no tenant named 'nobody'" in err
    code, out, _ = cli("tenants", "set", "acme", "--reset", "--no-webhook")
    shown = json.loads(out.splitlines()[0])
    assert (shown["threshold"], shown["webhook_url"]) == (None, None)
