"""The hotline's pages over HTTP (FastAPI's TestClient, a real SQLite database, the real detector
and readers): the public report form, status link, parents' check and warning signs; analyst
login, queue, case view, workflow, evidence reveal and export; CSRF, rate limits, headers,
languages."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from groomwatch.db import upgrade_database
from groomwatch.hotline import audit
from groomwatch.hotline.models import AuditEntry, Report
from groomwatch.hotline.users import create_user
from groomwatch.server.app import create_app
from groomwatch.settings import Settings

from .conftest import PASSWORD, png_bytes

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def detector() -> object:
    from groomwatch.detect import Detector

    return Detector.load()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    upgrade_database(url)
    return Settings(
        env="test",
        secret_key="test-secret-key-that-is-long-enough-0123456789",  # type: ignore[arg-type]
        data_dir=tmp_path,
        database_url=url,
        country="GB",
        report_rate_limit=3,
        login_max_failures=3,
    )


@pytest.fixture
def client(settings: Settings, detector: object) -> Iterator[TestClient]:
    app = create_app(settings, detector=detector)
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def csrf(client: TestClient, path: str = "/report") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert m, "no CSRF token on " + path
    return m.group(1)


def submit_report(client: TestClient, **fields: str) -> tuple[str, str]:
    data = {
        "csrf_token": csrf(client),
        "category": "online_grooming",
        "description": "An adult asks my daughter to keep their chats secret.",
        **fields,
    }
    chat = (EXAMPLES / "whatsapp-grooming-pattern.txt").read_bytes()
    files = [
        ("chat_export", ("chat.txt", chat, "text/plain")),
        ("screenshots", ("s.png", png_bytes(3), "image/png")),
    ]
    r = client.post("/report", data=data, files=files)
    assert r.status_code == 200, r.text
    ref = re.search(r'id="reference">([^<]+)<', r.text).group(1)
    code = re.search(r'id="access-code">([^<]+)<', r.text).group(1)
    return ref, code


def login(
    client: TestClient,
    settings: Settings,
    role: str = "analyst",
    email: str = "ana@hotline.example",
) -> None:
    from sqlalchemy.orm import Session

    with Session(client.app.state.engine) as s:  # type: ignore[attr-defined]
        create_user(s, email, PASSWORD, role)
        s.commit()
    token = csrf(client, "/analyst/login")
    r = client.post(
        "/analyst/login",
        data={"csrf_token": token, "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cookie = r.headers.get_list("set-cookie")
    assert any(
        "gw_session=" in c and "HttpOnly" in c and "SameSite=strict" in c and "Secure" in c
        for c in cookie
    ), cookie


def test_public_pages_have_the_emergency_line_and_strict_headers(client: TestClient) -> None:
    for path in ("/", "/report", "/check", "/signs", "/status"):
        r = client.get(path)
        assert r.status_code == 200
        assert "If a child is in immediate danger, call" in r.text
        assert 'href="tel:999"' in r.text  # GB, from settings
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "'unsafe-inline'" not in csp
        assert "<script" not in r.text
        assert "style=" not in r.text
        assert r.headers["cache-control"] == "no-store"
        assert '<main id="main"' in r.text
        assert 'lang="en"' in r.text
    assert client.get("/static/gw.css").headers["content-type"].startswith("text/css")
    assert client.get("/static/..%2Fweb.py").status_code == 404


def test_report_then_status_link_then_add_information(client: TestClient) -> None:
    ref, code = submit_report(client, url="example.com/profile/x")
    assert re.fullmatch(r"GW-[0-9A-Z]{4}-[0-9A-Z]{4}", ref)
    page = client.get(f"/status/{code}")
    assert page.status_code == 200
    assert ref in page.text
    assert "Received: waiting for an analyst" in page.text
    # lookup by reference and access code
    r = client.post(
        "/status",
        data={"csrf_token": csrf(client, "/status"), "reference": ref.lower(), "access_code": code},
    )
    assert r.status_code == 200
    assert ref in r.text
    r = client.post(
        "/status",
        data={"csrf_token": csrf(client, "/status"), "reference": ref, "access_code": "guess"},
    )
    assert r.status_code == 404
    assert client.get("/status/not-a-code").status_code == 404
    r = client.post(
        "/status/add",
        data={
            "csrf_token": csrf(client, "/status"),
            "access_code": code,
            "text": "He wrote again today.",
        },
    )
    assert r.status_code == 200
    assert "Thank you" in r.text
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        report = s.scalar(select(Report).where(Report.reference == ref))
        assert report is not None
        assert report.risk is not None
        assert report.risk > 0.5
        assert [e.kind for e in report.evidence] == ["chat", "screenshot"]
        assert report.reporter_updated_at is not None
        assert audit.verify(s).ok


def test_report_errors_name_the_field(client: TestClient) -> None:
    token = csrf(client)
    r = client.post("/report", data={"csrf_token": token, "description": "x"})
    assert r.status_code == 422
    assert "Choose what you are reporting." in r.text
    r = client.post(
        "/report",
        data={"csrf_token": token, "category": "sexual_extortion", "description": "x"},
        files=[("screenshots", ("fake.png", b"#!/bin/sh\necho hi\n", "image/png"))],
    )
    assert r.status_code == 422
    assert 'id="screenshots-error"' in r.text
    assert "not a PNG, JPEG, GIF or WebP image" in r.text
    r = client.post(
        "/report", data={"csrf_token": token, "category": "sexual_extortion", "anonymous": "no"}
    )
    assert r.status_code == 422
    assert 'id="contact_email-error"' in r.text


def test_csrf_and_rate_limit_on_the_report_form(client: TestClient) -> None:
    r = client.post(
        "/report", data={"csrf_token": "forged", "category": "online_grooming", "description": "x"}
    )
    assert r.status_code == 403
    token = csrf(client)
    codes = [
        client.post(
            "/report",
            data={"csrf_token": token, "category": "online_grooming", "description": f"report {i}"},
        ).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 429]


def test_parent_check_stores_nothing(client: TestClient) -> None:
    chat = (EXAMPLES / "whatsapp-grooming-pattern.txt").read_bytes()
    r = client.post(
        "/check",
        data={"csrf_token": csrf(client, "/check")},
        files={"chat_export": ("chat.txt", chat, "text/plain")},
    )
    assert r.status_code == 200, r.text
    assert "Strong warning signs of grooming" in r.text
    assert "<mark" in r.text
    assert "<svg" in r.text
    assert "Do not panic" in r.text
    assert "Keep the evidence" in r.text
    ordinary = (EXAMPLES / "whatsapp-ordinary.txt").read_bytes()
    r = client.post(
        "/check", data={"csrf_token": csrf(client, "/check"), "chat_text": ordinary.decode()}
    )
    assert r.status_code == 200
    assert "Strong warning signs" not in r.text
    r = client.post(
        "/check",
        data={"csrf_token": csrf(client, "/check")},
        files={"chat_export": ("x.png", png_bytes(1), "text/plain")},
    )
    assert r.status_code == 422
    assert "not a chat export" in r.text
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.scalar(select(Report.id)) is None
        assert s.scalar(select(AuditEntry.id)) is None
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    assert not (settings.data_dir / "evidence").exists()


def test_warning_signs_checklist_gives_guidance(client: TestClient) -> None:
    r = client.get(
        "/signs", params=[("checked", "1"), ("sign", "clue_secrecy"), ("sign", "clue_threats")]
    )
    assert r.status_code == 200
    assert "Secrecy is one of the clearest signs of grooming." in r.text
    assert "This is sexual extortion." in r.text
    assert 'value="clue_secrecy" id="s-clue_secrecy" checked' in r.text


def test_languages(client: TestClient) -> None:
    r = client.get("/report?lang=es")
    assert 'lang="es"' in r.text
    assert "Hacer una denuncia" in r.text
    assert "gw_lang=es" in r.headers["set-cookie"]
    assert 'lang="es"' in client.get("/report").text  # the cookie keeps it
    r = client.get("/signs", params=[("checked", "1"), ("sign", "clue_secrecy")])
    assert "El secreto es una de las señales más claras de grooming." in r.text
    client.cookies.clear()
    r = client.get("/", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
    assert 'lang="fr"' in r.text
    assert "Signaler" in r.text


def test_analyst_flow(client: TestClient, settings: Settings) -> None:
    ref, code = submit_report(client)
    assert client.get("/analyst/queue", follow_redirects=False).status_code == 303
    login(client, settings)
    queue = client.get("/analyst/queue")
    assert queue.status_code == 200
    assert ref in queue.text
    case = client.get(f"/analyst/cases/{ref}")
    assert case.status_code == 200
    assert "<mark" in case.text
    assert "<svg" in case.text
    assert "Legal elements (advisory, not legal advice)" in case.text
    assert "/preview" in case.text
    assert "/content" not in case.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', case.text).group(1)
    r = client.post(
        f"/analyst/cases/{ref}/status", data={"csrf_token": token, "status": "referred_to_police"}
    )
    assert r.status_code == 422  # not allowed from "received"
    for status in ("in_assessment", "referred_to_police"):
        r = client.post(
            f"/analyst/cases/{ref}/status",
            data={"csrf_token": token, "status": status},
            follow_redirects=False,
        )
        assert r.status_code == 303
    client.post(
        f"/analyst/cases/{ref}/notes",
        data={"csrf_token": token, "text": "Passed to police.", "visibility": "public"},
    )
    client.post(
        f"/analyst/cases/{ref}/notes",
        data={"csrf_token": token, "text": "secret note", "visibility": "internal"},
    )
    status_page = client.get(f"/status/{code}").text
    assert "Referred to the police" in status_page
    assert "Passed to police." in status_page
    assert "secret note" not in status_page
    # reveal an attachment: only through the logged POST
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        report = s.scalar(select(Report).where(Report.reference == ref))
        shot = next(e for e in report.evidence if e.kind == "screenshot")
    preview = client.get(f"/analyst/cases/{ref}/evidence/{shot.id}/preview")
    assert preview.status_code == 200
    assert preview.content != png_bytes(3)
    assert (
        f"/evidence/{shot.id}/content"
        not in client.get(f"/analyst/cases/{ref}?reveal={shot.id}").text
    )
    r = client.post(f"/analyst/cases/{ref}/evidence/{shot.id}/reveal", data={"csrf_token": token})
    assert r.status_code == 200
    assert f"/evidence/{shot.id}/content" in r.text
    assert client.get(f"/analyst/cases/{ref}/evidence/{shot.id}/content").content == png_bytes(3)
    # export
    r = client.post(f"/analyst/cases/{ref}/export", data={"csrf_token": token})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        case_json = json.loads(z.read("case.json"))
    assert case_json["reference"] == ref
    assert len(case_json["evidence"]) == 2
    assert client.get("/analyst/stats").status_code == 200
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        actions = {e.action for e in s.scalars(select(AuditEntry))}
        assert {
            "report.view",
            "evidence.reveal",
            "evidence.view",
            "evidence.preview",
            "report.status",
            "report.note",
            "report.export",
            "login.ok",
        } <= actions
        assert audit.verify(s).ok


def test_login_lockout_and_forged_session(client: TestClient, settings: Settings) -> None:
    login(client, settings, email="sup@hotline.example", role="supervisor")
    client.cookies.clear()
    token = csrf(client, "/analyst/login")
    for _ in range(3):
        r = client.post(
            "/analyst/login",
            data={
                "csrf_token": token,
                "email": "sup@hotline.example",
                "password": "wrong password!",
            },
        )
        assert r.status_code == 401
    r = client.post(
        "/analyst/login",
        data={"csrf_token": token, "email": "sup@hotline.example", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 401  # locked
    client.cookies.set("gw_session", "eyJ1IjoxfQ.forged.sig")
    assert client.get("/analyst/queue", follow_redirects=False).status_code == 303


def test_no_personal_data_in_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    _, code = submit_report(
        client,
        anonymous="no",
        contact_email="worried.parent@example.org",
        description="Only-in-this-report-7731 description text",
    )
    client.get(f"/status/{code}")
    # Everything the server side logged (httpx's lines are the test client's own requests).
    server_records = [r for r in caplog.records if not r.name.startswith("httpx")]
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server_records)
    logged += capsys.readouterr().err
    for secret in (
        "worried.parent@example.org",
        "Only-in-this-report-7731",
        code,
        "keep this between us",
    ):
        assert secret not in logged


def test_every_form_control_has_a_label(client: TestClient, settings: Settings) -> None:
    ref, _ = submit_report(client)
    login(client, settings)
    pages = [
        "/",
        "/report",
        "/check",
        "/signs",
        "/status",
        "/analyst/queue",
        f"/analyst/cases/{ref}",
        "/analyst/stats",
    ]
    control = re.compile(r"<(input|select|textarea)\b([^>]*)>")
    for path in pages:
        html = client.get(path).text
        labels = set(re.findall(r'<label for="([^"]+)"', html))
        for _tag, attrs in control.findall(html):
            kind = re.search(r'type="([^"]+)"', attrs)
            if kind and kind.group(1) in ("hidden", "submit"):
                continue
            ident = re.search(r'\bid="([^"]+)"', attrs)
            assert ident, f"{path}: a form control without id: {attrs}"
            assert ident.group(1) in labels, f"{path}: no label for #{ident.group(1)}"
        assert html.count("<h1") == 1, path
