"""Hashing an upload: what kind of file it is (by content, not by name), its MD5 and SHA-256, and
for images the PDQ hash, PDQ quality and the eight dihedral PDQ variants.

Pillow and pdqhash are the optional ``media`` extra; they are imported when an image is hashed,
so the rest of groomwatch (and hashing of videos and other files) works without them.

Limits are deliberate: an upload larger than ``max_bytes`` is refused before anything is decoded;
an image of more than ``max_pixels`` pixels is refused from its header, before its pixels are
decoded (a decompression bomb turns into :class:`ImageTooLargeError`, never a crash or a
``MemoryError``); a truncated or corrupt image is :class:`CorruptMediaError`. Pillow's global
``Image.MAX_IMAGE_PIXELS`` is set to the same limit when the first image is decoded, so other
code that opens images in the process is protected too. Nothing here logs file contents.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from groomwatch.errors import InputError
from groomwatch.media.signals import DIHEDRAL_VARIANTS, Rows, pack_bits, to_hex

if TYPE_CHECKING:
    from PIL import Image as PILImage

MediaKind = Literal["image", "video", "other"]

DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
DEFAULT_MAX_PIXELS: Final = 64_000_000
DEFAULT_MIN_QUALITY: Final = 50
HASH_MAX_SIDE: Final = 1024
"""Images larger than this on a side are downscaled (Lanczos) before PDQ hashing: PDQ looks at a
64x64 luminance image, so the hash moves by a few bits at most, and hashing stays fast."""


class MediaError(InputError):
    """An upload that cannot be hashed as asked. ``reason`` is a short machine-readable code."""

    reason: str = "media_error"

    def __init__(self, message: str, *, name: str | None = None) -> None:
        self.message = message
        self.name = name
        super().__init__(f"{name}: {message}" if name else message)


class UploadTooLargeError(MediaError):
    reason = "too_large"


class ImageTooLargeError(MediaError):
    reason = "image_too_large"


class CorruptMediaError(MediaError):
    reason = "corrupt"


class UnsupportedMediaError(MediaError):
    reason = "unsupported_type"


# --- recognising the kind of file by its first bytes ------------------------------------------

_IMAGE_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\xff\xd8\xff", "jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
)
_IMAGE_FTYP_BRANDS: Final = frozenset({b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1"})
_QUICKTIME_ATOMS: Final = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})


def sniff(data: bytes) -> tuple[MediaKind, str | None]:
    """The kind of a file and its format name, from its content signature (never its name).

    Videos: MP4/MOV/3GP (``ftyp`` box), WebM/Matroska (EBML header), AVI (``RIFF....AVI ``),
    FLV and MPEG-PS. Images: JPEG, PNG, GIF, WebP, BMP, TIFF, and AVIF/HEIF by ``ftyp`` brand.
    """
    head = data[:16]
    for magic, name in _IMAGE_MAGIC:
        if head.startswith(magic):
            return "image", name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return "video", "avi"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_FTYP_BRANDS:
            return "image", "heif" if brand not in (b"avif", b"avis") else "avif"
        return "video", "quicktime" if brand == b"qt  " else "mp4"
    if head[4:8] in _QUICKTIME_ATOMS and len(data) >= 8:
        return "video", "quicktime"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "video", "matroska"
    if head.startswith(b"FLV\x01"):
        return "video", "flv"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "video", "mpeg"
    return "other", None


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaHashes:
    """The hashes of one upload. ``pdq`` and ``quality`` are set for images only; ``dihedral``
    holds the packed PDQ of the eight variants (row ``i`` is :data:`DIHEDRAL_VARIANTS` ``[i]``,
    row 0 is ``pdq``). Never holds the content itself."""

    kind: MediaKind
    format: str | None
    size: int
    md5: str
    sha256: str
    pdq: str | None = None
    quality: int | None = None
    width: int | None = None
    height: int | None = None
    dihedral: Rows | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "format": self.format,
            "size": self.size,
            "md5": self.md5,
            "sha256": self.sha256,
            "pdq": self.pdq,
            "quality": self.quality,
        }
        if self.width is not None:
            out["width"] = self.width
            out["height"] = self.height
        if self.dihedral is not None:
            out["dihedral"] = {
                name: to_hex(row)
                for name, row in zip(DIHEDRAL_VARIANTS, self.dihedral, strict=True)
            }
        return out


# --- images -------------------------------------------------------------------------------------


def _pillow(max_pixels: int) -> Any:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise InputError(
            "hashing images needs the media extra: pip install 'groomwatch[media]'"
        ) from exc
    # Deliberate: Pillow warns above MAX_IMAGE_PIXELS and refuses above twice that. We refuse
    # above our own limit ourselves (below), and keep Pillow's global guard at the same figure.
    Image.MAX_IMAGE_PIXELS = max_pixels
    return Image


_PILLOW_NATIVE: Final = frozenset({"jpeg", "png", "gif", "webp", "bmp", "tiff"})


def decode_image(
    data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS, fmt: str | None = None
) -> PILImage.Image:
    """Decode the first frame of an image into RGB, refusing bombs and corrupt files clearly.

    ``fmt`` is the format :func:`sniff` found: a file with the signature of a format Pillow
    always reads that Pillow cannot open is corrupt, not unsupported. The result is at most
    :data:`HASH_MAX_SIDE` pixels on a side."""
    image_mod = _pillow(max_pixels)
    from PIL import UnidentifiedImageError

    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice that; the explicit size check below
        # refuses the same images with a precise message, so the warning adds nothing.
        warnings.simplefilter("ignore", image_mod.DecompressionBombWarning)
        try:
            im = image_mod.open(io.BytesIO(data))
        except UnidentifiedImageError as exc:
            if fmt in _PILLOW_NATIVE:
                raise CorruptMediaError(
                    f"corrupt image: it starts like {fmt.upper()} but cannot be read as one"
                ) from exc
            raise UnsupportedMediaError(
                f"cannot decode this image format ({fmt or 'unknown'}) in this installation"
            ) from exc
        except (image_mod.DecompressionBombError, image_mod.DecompressionBombWarning) as exc:
            raise ImageTooLargeError(
                f"image has more than the limit of {max_pixels:,} pixels (possible "
                "decompression bomb)"
            ) from exc
        except Exception as exc:
            raise CorruptMediaError(
                f"corrupt or truncated image header ({type(exc).__name__}: {str(exc)[:120]})"
            ) from exc
        try:
            width, height = im.size
            if width <= 0 or height <= 0:
                raise CorruptMediaError(f"image has no pixels ({width}x{height})")
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"image is {width}x{height} = {width * height:,} pixels, more than the "
                    f"limit of {max_pixels:,} (possible decompression bomb)"
                )
            if max(width, height) > HASH_MAX_SIDE:
                im.draft("RGB", (HASH_MAX_SIDE, HASH_MAX_SIDE))  # JPEG: decode at reduced scale
            im.load()
            rgb = im.convert("RGB")
            if max(rgb.size) > HASH_MAX_SIDE:
                rgb.thumbnail((HASH_MAX_SIDE, HASH_MAX_SIDE), image_mod.Resampling.LANCZOS)
            return rgb  # type: ignore[no-any-return]
        except MediaError:
            raise
        except (image_mod.DecompressionBombError, image_mod.DecompressionBombWarning) as exc:
            raise ImageTooLargeError(
                f"image has more than the limit of {max_pixels:,} pixels (possible "
                "decompression bomb)"
            ) from exc
        except MemoryError as exc:
            raise ImageTooLargeError("image is too large to decode") from exc
        except Exception as exc:  # truncated data, bad chunks, bad palettes: all "corrupt"
            raise CorruptMediaError(
                f"corrupt or truncated image ({type(exc).__name__}: {str(exc)[:120]})"
            ) from exc
        finally:
            im.close()


def pdq_dihedral(rgb: NDArray[np.uint8]) -> tuple[Rows, int]:
    """The packed PDQ hashes (8, 32) of the eight dihedral variants of an RGB array, and quality.

    ``pdqhash.compute_dihedral`` derives the variants from the DCT of one image; in pdqhash 0.2.x
    the four variants that include a top-bottom flip come out 24-34 bits away from the hash of
    the actually flipped image (measured; see the tests). We therefore take the four exact ones
    from the image and the other four from its top-bottom mirror, so every variant equals the PDQ
    of the transformed image.
    """
    import pdqhash

    a = np.ascontiguousarray(rgb)
    hashes_a, quality = pdqhash.compute_dihedral(a)
    hashes_b, _ = pdqhash.compute_dihedral(np.ascontiguousarray(a[::-1]))
    # From compute_dihedral(x), these are exact: x, rot90(x), fliplr(x), transpose(x).
    # With x = flipud(a): flipud(a), rot90(flipud(a)) = anti-transpose(a),
    # fliplr(flipud(a)) = rot180(a), transpose(flipud(a)) = rot270(a).
    ordered = [
        hashes_a[0],  # original
        hashes_a[1],  # rotate90 (counter-clockwise, as numpy.rot90)
        hashes_b[5],  # rotate180
        hashes_b[6],  # rotate270
        hashes_b[0],  # flip_x: top-bottom mirror
        hashes_a[5],  # flip_y: left-right mirror
        hashes_a[6],  # flip_plus1: transpose (main diagonal)
        hashes_b[1],  # flip_minus1: anti-diagonal
    ]
    return pack_bits(np.stack(ordered)), int(quality)


def hash_media(
    data: bytes,
    *,
    name: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> MediaHashes:
    """Hash one upload. Images get PDQ, quality and dihedral variants; videos and other files get
    MD5 and SHA-256 only. Raises :class:`MediaError` (an :class:`InputError`) for an upload that is
    too large or an image that is corrupt, truncated, a bomb or not decodable; ``name`` (a file
    name, never the content) is put in the message."""
    if len(data) > max_bytes:
        raise UploadTooLargeError(
            f"upload is {len(data):,} bytes, more than the limit of {max_bytes:,}", name=name
        )
    if not data:
        raise CorruptMediaError("empty file", name=name)
    kind, fmt = sniff(data)
    md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
    sha256 = hashlib.sha256(data).hexdigest()
    if kind != "image":
        return MediaHashes(kind=kind, format=fmt, size=len(data), md5=md5, sha256=sha256)
    try:
        image = decode_image(data, max_pixels=max_pixels, fmt=fmt)
    except MediaError as exc:
        if exc.name is None and name is not None:
            raise type(exc)(exc.message, name=name) from exc
        raise
    rows, quality = pdq_dihedral(np.asarray(image, dtype=np.uint8))
    return MediaHashes(
        kind="image",
        format=fmt,
        size=len(data),
        md5=md5,
        sha256=sha256,
        pdq=to_hex(rows[0]),
        quality=quality,
        width=image.width,
        height=image.height,
        dihedral=rows,
    )
