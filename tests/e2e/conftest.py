"""Browser tests: the real server (uvicorn in a subprocess, SQLite in a temporary folder) driven by
Debian's headless Chromium through Playwright. Skipped when Chromium is missing, unless
``GROOMWATCH_REQUIRE_BROWSER=1``. Screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("GROOMWATCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ANALYST_EMAIL = "analyst@hotline.example"
ANALYST_PASSWORD = "e2e analyst password 42"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        if os.environ.get("GROOMWATCH_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (GROOMWATCH_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return str(path)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real groomwatch server on 127.0.0.1 with one analyst account (made by the CLI)."""
    data = tmp_path_factory.mktemp("e2e-server")
    port = _free_port()
    env = {
        **os.environ,
        "GROOMWATCH_ENV": "development",
        "GROOMWATCH_SECRET_KEY": "e2e-secret-key-0123456789-abcdefghijklmnop",
        "GROOMWATCH_DATA_DIR": str(data),
        "GROOMWATCH_DATABASE_URL": f"sqlite:///{data / 'groomwatch.db'}",
        "GROOMWATCH_COUNTRY": "GB",
        "GROOMWATCH_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    cli = [sys.executable, "-c", "from groomwatch.cli import main; main()"]
    made = subprocess.run(
        [*cli, "users", "create", ANALYST_EMAIL, "--role", "supervisor", "--password-stdin"],
        input=ANALYST_PASSWORD + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    log = (data / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "groomwatch.server.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    "the server did not start:\n" + (data / "server.log").read_text()[-3000:]
                )
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
