"""Hashing uploads: kind by content, PDQ/MD5/SHA-256, dihedral variants, limits and bad files."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any

import numpy as np
import pdqhash
import pytest
from PIL import Image

from groomwatch.errors import InputError
from groomwatch.media.hashing import (
    HASH_MAX_SIDE,
    CorruptMediaError,
    ImageTooLargeError,
    UnsupportedMediaError,
    UploadTooLargeError,
    hash_media,
    pdq_dihedral,
    sniff,
)
from groomwatch.media.signals import DIHEDRAL_VARIANTS, PDQ, hamming, pack_bits, parse_hex


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` pixels but carries almost no data: the shape
    of a decompression bomb, without building one."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    ("data", "kind", "fmt"),
    [
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "video", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00", "video", "quicktime"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm", "video", "matroska"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "video", "avi"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "image", "heif"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image", "jpeg"),
        (b"GIF89a\x01\x00", "image", "gif"),
        (b"hello, this is text", "other", None),
        (b"%PDF-1.7", "other", None),
    ],
)
def test_kind_is_recognised_by_content(data: bytes, kind: str, fmt: str | None) -> None:
    assert sniff(data) == (kind, fmt)


def test_image_hashes_match_the_reference_tools(pictures: Any) -> None:
    im = pictures.image(1)
    data = pictures.encode(im, "PNG")
    h = hash_media(data)
    assert h.kind == "image"
    assert h.format == "png"
    assert h.md5 == hashlib.md5(data).hexdigest()
    assert h.sha256 == hashlib.sha256(data).hexdigest()
    bits, quality = pdqhash.compute(np.asarray(im))
    # The standard hex form: most significant bit first, as threatexchange writes it.
    expected = "{:064x}".format(int("".join(str(int(b)) for b in bits), 2))
    assert h.pdq == expected
    assert h.quality == quality >= 50
    assert (h.width, h.height) == (320, 240)
    assert "dihedral" in h.to_dict()
    assert h.to_dict()["pdq"] == expected


def test_every_dihedral_variant_is_the_pdq_of_the_transformed_image(pictures: Any) -> None:
    a = np.asarray(pictures.image(2, (301, 217)))
    transformed = {
        "original": a,
        "rotate90": np.rot90(a),
        "rotate180": np.rot90(a, 2),
        "rotate270": np.rot90(a, -1),
        "flip_x": a[::-1],
        "flip_y": a[:, ::-1],
        "flip_plus1": a.transpose(1, 0, 2),
        "flip_minus1": np.rot90(a, 2).transpose(1, 0, 2),
    }
    rows, _ = pdq_dihedral(a)
    for i, name in enumerate(DIHEDRAL_VARIANTS):
        bits, _ = pdqhash.compute(np.ascontiguousarray(transformed[name]))
        assert int(hamming(rows[i], pack_bits(bits)[0])) == 0, name


def test_large_images_are_downscaled_with_little_change_to_pdq(pictures: Any) -> None:
    im = pictures.image(3, (2400, 1800))
    h = hash_media(pictures.encode(im, "PNG"))
    assert max(h.width or 0, h.height or 0) == HASH_MAX_SIDE
    bits, _ = pdqhash.compute(np.asarray(im))
    assert h.pdq is not None
    assert int(hamming(parse_hex(h.pdq, PDQ), pack_bits(bits)[0])) <= 8


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "CMYK", "I;16", "1"])
def test_image_modes_are_hashed(pictures: Any, mode: str) -> None:
    im = pictures.image(4).convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I;16") else "PNG"
    h = hash_media(pictures.encode(im, fmt))
    assert h.pdq is not None
    assert len(h.pdq) == 64


def test_animated_gif_uses_first_frame(pictures: Any) -> None:
    frames = [pictures.image(5).convert("P"), pictures.image(6).convert("P")]
    data = pictures.encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    first = hash_media(pictures.encode(frames[0], "GIF"))
    assert hash_media(data).pdq == first.pdq


def test_flat_image_has_low_quality(pictures: Any) -> None:
    h = hash_media(pictures.encode(Image.new("RGB", (200, 200), (120, 40, 200)), "PNG"))
    assert h.quality is not None
    assert h.quality < 50


def test_video_gets_digests_only() -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 10
    h = hash_media(data)
    assert h.kind == "video"
    assert h.pdq is None
    assert h.quality is None
    assert h.md5 == hashlib.md5(data).hexdigest()
    assert "dihedral" not in h.to_dict()


def test_truncated_image_is_a_clear_error(pictures: Any) -> None:
    data = pictures.encode(pictures.image(7), "JPEG", quality=90)
    with pytest.raises(CorruptMediaError, match=r"upload\.jpg: corrupt or truncated"):
        hash_media(data[: len(data) // 2], name="upload.jpg")


def test_corrupt_image_is_a_clear_error() -> None:
    data = b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50
    with pytest.raises(CorruptMediaError) as err:
        hash_media(data, name="x.png")
    assert isinstance(err.value, InputError)
    assert str(err.value).startswith("x.png: ")


def test_image_signature_without_an_image_is_corrupt() -> None:
    with pytest.raises(CorruptMediaError, match="starts like GIF"):
        hash_media(b"GIF89a" + b"\x01" * 4)
    with pytest.raises(CorruptMediaError, match="corrupt or truncated"):
        hash_media(b"BM" + b"\x01" * 40)


def test_format_pillow_cannot_decode_is_unsupported() -> None:
    # An AVIF/HEIF signature with nothing behind it: unsupported or corrupt, never a crash.
    with pytest.raises((UnsupportedMediaError, CorruptMediaError)):
        hash_media(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 64)


def test_decompression_bomb_is_refused_from_its_header() -> None:
    with pytest.raises(ImageTooLargeError, match="decompression bomb"):
        hash_media(_png_header_only(60_000, 60_000), max_pixels=64_000_000)


def test_pillow_own_bomb_guard_is_turned_into_a_clear_error() -> None:
    # Far above twice MAX_IMAGE_PIXELS: Pillow refuses in Image.open already.
    with pytest.raises(ImageTooLargeError):
        hash_media(_png_header_only(100_000, 100_000), max_pixels=1_000_000)


def test_pixel_limit_is_configurable(pictures: Any) -> None:
    data = pictures.encode(pictures.image(8, (200, 200)), "PNG")
    with pytest.raises(ImageTooLargeError, match="40,000 pixels"):
        hash_media(data, max_pixels=30_000)


def test_upload_size_limit(pictures: Any) -> None:
    data = pictures.encode(pictures.image(9), "PNG")
    with pytest.raises(UploadTooLargeError, match="more than the limit"):
        hash_media(data, max_bytes=len(data) - 1)


def test_empty_file_is_refused() -> None:
    with pytest.raises(CorruptMediaError, match="empty"):
        hash_media(b"")
