"""check_upload, the hotline's entry point at report intake: never raises for a bad file."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from PIL import Image

from groomwatch.media.bank import BankEntry, BankStore
from groomwatch.media.hashing import hash_media
from groomwatch.media.intake import check_upload
from groomwatch.media.signals import PDQ, parse_hex


def test_image_matching_known_material(store: BankStore, pictures: Any) -> None:
    im = pictures.image(200)
    h = hash_media(pictures.encode(im, "PNG"))
    store.create("known", known_material=True)
    store.add("known", [BankEntry("pdq", parse_hex(h.pdq or "", PDQ), "list", "2024-02-02")])
    data = pictures.encode(im.rotate(90, expand=True), "JPEG", quality=75)
    check = check_upload(data, "evidence 1.jpg", store)
    assert check.kind == "image"
    assert check.error is None
    assert check.md5 == hashlib.md5(data).hexdigest()
    assert check.pdq is not None
    assert check.quality is not None
    assert check.known_material
    assert not check.viewable
    (m,) = check.matches
    assert m.bank == "known"
    assert m.variant in {"rotate90", "rotate270"}
    out = check.to_dict()
    assert out["viewable"] is False
    assert out["filename"] == "evidence 1.jpg"
    json.dumps(out)  # serialisable


def test_result_never_holds_the_content(store: BankStore, pictures: Any) -> None:
    data = pictures.encode(pictures.image(201), "PNG")
    check = check_upload(data, "a.png", store)
    text = json.dumps(check.to_dict())
    assert data[:64].hex() not in text
    assert not any(isinstance(v, bytes) for v in check.to_dict().values())


def test_video_is_matched_by_digest(store: BankStore) -> None:
    video = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40  # a WebM/Matroska signature
    store.create("videos", known_material=True)
    store.add("videos", [BankEntry("md5", hashlib.md5(video).digest(), "list")])
    check = check_upload(video, None, store)
    assert (check.kind, check.pdq, check.quality, check.error) == ("video", None, None, None)
    assert check.known_material


def test_other_file_is_reported_not_raised(store: BankStore) -> None:
    check = check_upload(b"just some text", "notes.txt", store)
    assert check.kind == "other"
    assert check.error is not None
    assert "not an image or video" in check.error
    assert check.md5 == hashlib.md5(b"just some text").hexdigest()
    assert check.matches == ()


def test_corrupt_image_still_matches_by_digest(store: BankStore, pictures: Any) -> None:
    data = pictures.encode(pictures.image(202), "JPEG")[:500]
    store.create("known", known_material=True)
    store.add("known", [BankEntry("sha256", hashlib.sha256(data).digest())])
    check = check_upload(data, "cut.jpg", store)
    assert check.kind == "image"
    assert check.pdq is None
    assert check.error is not None
    assert "corrupt or truncated" in check.error
    assert check.known_material


def test_too_large_upload(store: BankStore, pictures: Any) -> None:
    data = pictures.encode(pictures.image(203), "PNG")
    check = check_upload(data, "big.png", store, max_bytes=1000)
    assert check.error is not None
    assert "more than the limit of 1,000" in check.error
    assert check.md5 is None
    assert check.matches == ()


def test_low_quality_image_says_why_it_was_not_matched(store: BankStore, pictures: Any) -> None:
    data = pictures.encode(Image.new("RGB", (100, 100), (255, 255, 255)), "PNG")
    check = check_upload(data, "white.png", store)
    assert check.error is None
    assert check.pdq_refused is not None
    assert "below 50" in check.pdq_refused


def test_empty_store(tmp_path: Any, pictures: Any) -> None:
    store = BankStore.open(tmp_path / "none")
    check = check_upload(pictures.encode(pictures.image(204), "PNG"), "a.png", store)
    assert check.matches == ()
    assert not check.known_material
