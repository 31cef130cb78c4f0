"""Evidence: uploads checked by content, hashed at intake (SHA-256 and MD5), stored once under
their SHA-256 and never modified.

:class:`EvidenceStore` keeps files under ``<data_dir>/evidence/ab/abcdef...`` (the first two hex
digits of the SHA-256, then the whole digest). A name is only ever a validated 64-digit hex digest,
so no path given by a user reaches the file system; files are written to a temporary file and
renamed into place, made read-only, and their hash is checked again on every read.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from groomwatch.errors import GroomwatchError, InputError

_SHA256 = re.compile(r"[0-9a-f]{64}")

#: Image types accepted as screenshots, recognised by their first bytes.
IMAGE_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "image/png"),
    (b"\xff\xd8\xff", 0, "image/jpeg"),
    (b"GIF87a", 0, "image/gif"),
    (b"GIF89a", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
)
ZIP_SIGNATURE = b"PK\x03\x04"


class EvidenceIntegrityError(GroomwatchError):
    """A stored evidence file is missing or no longer matches the hash taken at intake."""


class UploadError(InputError):
    """An upload is refused. ``field`` names the form field, so the page can show it there."""

    def __init__(self, message: str, *, field: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field}: {message}")


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as received: the name the client gave (kept only as a label) and its bytes."""

    filename: str
    data: bytes


def sniff_media_type(data: bytes) -> str | None:
    """The media type of ``data`` judged from its content, or ``None`` when it is neither a
    supported image, a ZIP archive nor text."""
    for signature, offset, media_type in IMAGE_SIGNATURES:
        if data[offset : offset + len(signature)] == signature and (
            media_type != "image/webp" or data[:4] == b"RIFF"
        ):
            return media_type
    if data.startswith(ZIP_SIGNATURE):
        return "application/zip"
    if _looks_like_text(data):
        return "text/plain"
    return None


def _looks_like_text(data: bytes) -> bool:
    head = data[:65536]
    if not head:
        return False
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a byte order mark
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the end of the sample
            controls = sum(1 for b in head if b < 9 or 13 < b < 32)
            return controls == 0  # a legacy 8-bit encoding, which the readers can decode
    return True


def safe_filename(name: str | None, default: str = "upload") -> str:
    """A label for a file name: no directories, no control characters, at most 120 characters.
    Only ever displayed or written into export manifests, never used as a path."""
    if not name:
        return default
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    return name[:120] or default


def digests(data: bytes) -> tuple[str, str]:
    """(SHA-256, MD5) of ``data`` in hex. MD5 is kept because hash lists from hotlines and
    clearing houses still use it; SHA-256 is the identity of a file here."""
    return hashlib.sha256(data).hexdigest(), hashlib.md5(data, usedforsecurity=False).hexdigest()


class EvidenceStore:
    """Content-addressed, write-once file storage."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> EvidenceStore:
        return cls(data_dir / "evidence")

    def path(self, sha256: str) -> Path:
        if not _SHA256.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once: storing the same bytes again changes nothing); its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if target.exists():
            return sha256
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o400)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def read(self, sha256: str) -> bytes:
        """The stored bytes, after checking that they still have the hash taken at intake."""
        target = self.path(sha256)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise EvidenceIntegrityError(f"evidence file {sha256} is missing") from None
        if hashlib.sha256(data).hexdigest() != sha256:
            raise EvidenceIntegrityError(f"evidence file {sha256} no longer matches its hash")
        return data

    def delete(self, sha256: str) -> bool:
        """Remove a file (retention); ``True`` if there was one."""
        target = self.path(sha256)
        try:
            target.chmod(0o600)
            target.unlink()
        except FileNotFoundError:
            return False
        return True
