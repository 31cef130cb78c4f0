"""POST /v1/media/match through the real application: a real tenant and API key in a migrated
SQLite database, real banks on disk, generated images only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from groomwatch.db import create_db_engine, make_session_factory, upgrade_database
from groomwatch.media.bank import BankEntry, BankStore
from groomwatch.media.hashing import hash_media
from groomwatch.media.signals import PDQ, parse_hex
from groomwatch.server.app import create_app
from groomwatch.server.tenants import create_tenant
from groomwatch.settings import Settings


def picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (320, 240), tuple(int(v) for v in rng.integers(0, 256, 3)))
    draw = ImageDraw.Draw(im)
    for _ in range(10):
        x0, y0 = int(rng.integers(0, 280)), int(rng.integers(0, 200))
        box = (x0, y0, x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120)))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        (draw.ellipse if rng.integers(0, 2) else draw.rectangle)(box, fill=colour)
    return im


def encode(im: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


@pytest.fixture(scope="module")
def detector() -> Any:
    from groomwatch.detect import Detector

    return Detector.load()


@pytest.fixture
def api(tmp_path: Path, detector: Any) -> Iterator[tuple[TestClient, dict[str, str], BankStore]]:
    url = f"sqlite:///{tmp_path / 'groomwatch.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    with make_session_factory(engine)() as session:
        key = create_tenant(session, "acme").key
        session.commit()
    engine.dispose()
    settings = Settings(
        env="test",
        secret_key="test-secret-" + "x" * 40,
        data_dir=tmp_path,
        database_url=url,
        media_max_upload_bytes=200_000,
    )
    store = BankStore.open(settings.resolved_media_dir)
    original = picture(1)
    h = hash_media(encode(original))
    store.create("known", known_material=True)
    store.add("known", [BankEntry("pdq", parse_hex(h.pdq or "", PDQ), "test list", "2024-01-01")])
    store.create("fp", negative=True, threshold=8)
    app = create_app(settings, detector=detector)
    with TestClient(app) as client:
        yield client, {"Authorization": f"Bearer {key}"}, store


def post(client: TestClient, headers: dict[str, str], data: bytes, name: str = "u.bin") -> Any:
    return client.post(
        "/v1/media/match",
        headers=headers,
        files={"file": (name, data, "application/octet-stream")},
    )


def test_match_with_explanation_and_no_echo(api: Any) -> None:
    client, auth, _ = api
    data = encode(picture(1).rotate(90, expand=True), "JPEG", quality=70)
    r = post(client, auth, data, "holiday.jpg")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["classification"] == "known_material"
    assert body["viewable"] is False
    (m,) = body["matches"]
    assert m["bank"] == "known"
    assert m["counted"] is True
    assert m["variant"] in ("rotate90", "rotate270")
    assert m["distance"] <= m["threshold"] == 31
    assert "explanation" in m
    assert body["hashes"]["kind"] == "image"
    assert "dihedral" not in body["hashes"]
    assert data[:32].hex() not in r.text
    assert "holiday" not in r.text


def test_no_match_and_negative_bank(api: Any) -> None:
    client, auth, store = api
    r = post(client, auth, encode(picture(2)))
    assert r.status_code == 200
    assert r.json()["classification"] == "no_match"
    assert r.json()["matches"] == []
    h = hash_media(encode(picture(1)))
    store.add("fp", [BankEntry("pdq", parse_hex(h.pdq or "", PDQ), "fp list")])
    r = post(client, auth, encode(picture(1)))
    body = r.json()
    assert body["classification"] == "no_match"
    assert body["matches"][0]["suppressed_by"]["bank"] == "fp"


def test_requires_an_api_key(api: Any) -> None:
    client, _, _ = api
    r = post(client, {}, encode(picture(1)))
    assert r.status_code == 401
    r = post(client, {"Authorization": "Bearer gwk_000000000000_" + "x" * 43}, encode(picture(1)))
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"plain text, not media", 415, "not an image or video"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00junk" * 40, 422, "corrupt"),
        (b"", 422, "empty"),
        (b"\xff\xd8\xff" + b"\x00" * 250_000, 413, "larger than 200,000 bytes"),
    ],
)
def test_bad_uploads(api: Any, data: bytes, status: int, message: str) -> None:
    client, auth, _ = api
    r = post(client, auth, data)
    assert r.status_code == status, r.text
    assert message in r.text


def test_truncated_image_and_bomb(api: Any) -> None:
    import struct
    import zlib

    client, auth, _ = api
    r = post(client, auth, encode(picture(3), "JPEG")[:300])
    assert r.status_code == 422
    assert "corrupt or truncated" in r.json()["detail"]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 50_000, 50_000, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 100))
        + chunk(b"IEND", b"")
    )
    r = post(client, auth, bomb)
    assert r.status_code == 413
    assert "decompression bomb" in r.json()["detail"]


def test_missing_file_field(api: Any) -> None:
    client, auth, _ = api
    r = client.post("/v1/media/match", headers=auth, data={"other": "x"})
    assert r.status_code == 422
