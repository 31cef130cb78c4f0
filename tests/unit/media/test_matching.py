"""Matching uploads against banks: altered copies match, others do not; negative banks, disabled
banks, per-bank thresholds, known material and the quality gate."""

from __future__ import annotations

from typing import Any

import pytest
from PIL import Image

from groomwatch.media.bank import BankEntry, BankStore
from groomwatch.media.hashing import hash_media
from groomwatch.media.matching import Matcher, MatchResult
from groomwatch.media.signals import MD5, PDQ, parse_hex

ROTATIONS = {"rotate90", "rotate180", "rotate270"}


@pytest.fixture
def original(pictures: Any) -> Image.Image:
    return pictures.image(100)


def bank_with(store: BankStore, name: str, im: Image.Image, pictures: Any, **settings: Any) -> str:
    h = hash_media(pictures.encode(im, "PNG"))
    assert h.pdq is not None
    store.create(name, **settings)
    store.add(name, [BankEntry("pdq", parse_hex(h.pdq, PDQ), "test list", "2024-06-01", "e-1")])
    return h.pdq


def match(store: BankStore, data: bytes, **options: Any) -> MatchResult:
    return Matcher(store, **options).match(hash_media(data))


def altered(im: Image.Image, how: str) -> tuple[Image.Image, dict[str, Any]]:
    w, h = im.size
    if how == "resized_jpeg60":
        return im.resize((w * 3 // 5, h * 3 // 5), Image.Resampling.BILINEAR), {
            "format": "JPEG",
            "quality": 60,
        }
    if how == "cropped":
        # 1% off every edge: about 4% of the area. PDQ tolerates little cropping: at 2-3% per
        # edge these generated images move 30-70 bits (docs/media-matching.md, "Limits").
        dx, dy = w // 100, h // 100
        return im.crop((dx, dy, w - dx, h - dy)), {"format": "PNG"}
    if how == "rotated90":
        return im.rotate(90, expand=True), {"format": "PNG"}
    if how == "rotated270_jpeg":
        return im.rotate(-90, expand=True), {"format": "JPEG", "quality": 80}
    if how == "flipped":
        return im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), {"format": "PNG"}
    if how == "upside_down":
        return im.transpose(Image.Transpose.FLIP_TOP_BOTTOM), {"format": "PNG"}
    raise AssertionError(how)


@pytest.mark.parametrize(
    ("how", "variants"),
    [
        ("resized_jpeg60", {"original"}),
        ("cropped", {"original"}),
        ("rotated90", ROTATIONS),
        ("rotated270_jpeg", ROTATIONS),
        ("flipped", {"flip_y"}),
        ("upside_down", {"flip_x"}),
    ],
)
def test_altered_copy_matches_its_original(
    store: BankStore, pictures: Any, original: Image.Image, how: str, variants: set[str]
) -> None:
    bank_hash = bank_with(store, "known", original, pictures)
    im, options = altered(original, how)
    fmt = options.pop("format")
    result = match(store, pictures.encode(im, fmt, **options))
    assert len(result.counted) == 1
    m = result.counted[0]
    assert (m.bank, m.hash, m.signal_type) == ("known", bank_hash, "pdq")
    assert 0 <= m.distance <= 31
    assert m.threshold == 31
    assert m.variant in variants
    assert (m.source, m.date, m.ref) == ("test list", "2024-06-01", "e-1")
    assert f"PDQ distance {m.distance} is at most 31" in m.explanation
    assert result.classification == "match"


def test_rotation_is_not_matched_without_dihedral_variants(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "known", original, pictures)
    im, _ = altered(original, "rotated90")
    assert match(store, pictures.encode(im, "PNG"), dihedral=False).matches == ()


def test_different_images_do_not_match(store: BankStore, pictures: Any) -> None:
    bank_with(store, "known", pictures.image(100), pictures)
    for seed in (101, 102, 103, 104):
        result = match(store, pictures.encode(pictures.image(seed), "PNG"))
        assert result.matches == (), seed
        assert result.classification == "no_match"


def test_negative_bank_suppresses_the_match(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "known", original, pictures)
    fp_hash = bank_with(store, "false-positives", original, pictures, negative=True, threshold=10)
    data = pictures.encode(original, "JPEG", quality=85)
    result = match(store, data)
    assert result.counted == ()
    assert result.classification == "no_match"
    (m,) = result.matches
    assert not m.counted
    assert m.suppressed_by is not None
    assert (m.suppressed_by.bank, m.suppressed_by.hash) == ("false-positives", fp_hash)
    assert m.suppressed_by.distance <= 10
    assert "not counted" in m.explanation
    assert "negative bank 'false-positives'" in m.explanation
    assert m.to_dict()["counted"] is False


def test_negative_bank_only_suppresses_within_its_own_threshold(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "known", original, pictures)
    bank_with(store, "fp", original, pictures, negative=True, threshold=0)
    small, _ = altered(original, "resized_jpeg60")
    result = match(store, pictures.encode(small, "JPEG", quality=60))
    (m,) = result.matches
    assert m.distance > 0, "the test needs a copy that is not bit-identical"
    assert m.counted


def test_negative_bank_scoped_to_other_banks(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "known", original, pictures)
    bank_with(store, "fp", original, pictures, negative=True, suppresses=("elsewhere",))
    result = match(store, pictures.encode(original, "PNG"))
    assert [m.counted for m in result.matches] == [True]


def test_disabled_bank_is_skipped_and_enabled_again(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "known", original, pictures)
    data = pictures.encode(original, "PNG")
    matcher = Matcher(store)
    store.update("known", enabled=False)
    assert matcher.match(hash_media(data)).matches == ()
    store.update("known", enabled=True)
    assert len(matcher.match(hash_media(data)).matches) == 1


def test_each_bank_has_its_own_threshold(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "strict", original, pictures, threshold=0)
    bank_with(store, "loose", original, pictures, threshold=31)
    small, _ = altered(original, "resized_jpeg60")
    result = match(store, pictures.encode(small, "JPEG", quality=60))
    assert [m.bank for m in result.matches] == ["loose"]
    assert result.matches[0].distance > 0


def test_known_material_classifies_and_is_never_viewable(
    store: BankStore, pictures: Any, original: Image.Image
) -> None:
    bank_with(store, "csam-known", original, pictures, known_material=True)
    result = match(store, pictures.encode(original, "JPEG", quality=70))
    assert result.known_material
    assert result.classification == "known_material"
    out = result.to_dict()
    assert out["viewable"] is False
    assert "must not be shown again" in out["matches"][0]["explanation"]


def test_flat_image_is_refused_for_pdq_with_the_reason(store: BankStore, pictures: Any) -> None:
    flat = pictures.encode(Image.new("RGB", (300, 200), (90, 90, 90)), "PNG")
    h = hash_media(flat)
    store.create("known")
    store.add("known", [BankEntry("pdq", parse_hex(h.pdq or "", PDQ))])
    result = match(store, flat)
    assert result.matches == ()
    assert result.pdq_refused is not None
    assert f"PDQ quality {h.quality} is below 50" in result.pdq_refused
    # The exact digest still matches.
    store.add("known", [BankEntry("md5", bytes.fromhex(h.md5), "list")])
    (m,) = match(store, flat).matches
    assert (m.signal_type, m.distance, m.variant) == ("md5", 0, None)


def test_exact_digest_match_and_exact_negative(store: BankStore) -> None:
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(200)) * 20
    h = hash_media(video)
    store.create("videos", known_material=True)
    store.add("videos", [BankEntry("sha256", bytes.fromhex(h.sha256), "list", "2024-01-01")])
    store.add("videos", [BankEntry("md5", bytes(16))])  # an unrelated entry
    result = match(store, video)
    (m,) = result.matches
    assert (m.signal_type, m.hash) == ("sha256", h.sha256)
    assert result.known_material
    assert "SHA256 equals an entry" in m.explanation
    store.create("fp", negative=True)
    store.add("fp", [BankEntry("md5", bytes.fromhex(h.md5))])
    result = match(store, video)
    assert not result.known_material
    assert result.matches[0].suppressed_by is not None
    assert result.matches[0].suppressed_by.signal_type == MD5.name


def test_matches_per_bank_are_capped_and_said_so(store: BankStore, pictures: Any) -> None:
    h = hash_media(pictures.encode(pictures.image(5), "PNG"))
    base = bytearray(parse_hex(h.pdq or "", PDQ))
    entries = []
    for i in range(30):  # 30 entries within a few bits of the upload
        near = bytearray(base)
        near[i] ^= 1
        entries.append(BankEntry("pdq", bytes(near)))
    store.create("many")
    store.add("many", entries)
    result = Matcher(store, max_per_bank=25).match(h)
    assert len(result.matches) == 25
    assert result.truncated == ("many",)
    assert [m.distance for m in result.matches] == sorted(m.distance for m in result.matches)
