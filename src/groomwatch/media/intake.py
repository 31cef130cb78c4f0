"""Checking a file at report intake (the hotline calls this when a reporter uploads evidence).

:func:`check_upload` never raises for a bad file: a corrupt, truncated, oversized or
undecodable upload comes back with ``error`` set (and its MD5/SHA-256, when it was not refused
for size, so the file can still be matched exactly and referenced). When ``known_material`` is
true the upload matched a bank of known child sexual abuse material: store it sealed, classify
the report accordingly, and never render it to an analyst or anyone else.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from groomwatch.media.bank import BankStore
from groomwatch.media.hashing import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MIN_QUALITY,
    MediaError,
    MediaHashes,
    UploadTooLargeError,
    hash_media,
    sniff,
)
from groomwatch.media.matching import Match, Matcher

UploadKind = Literal["image", "video", "other"]


@dataclass(frozen=True, slots=True)
class UploadCheck:
    """The outcome of checking one upload: its kind (by content), hashes, bank matches (counted
    and suppressed, see :class:`Match`), whether it is known material, and an error message if it
    could not be hashed fully. ``pdq_refused`` says why PDQ was not matched (low quality)."""

    kind: UploadKind
    md5: str | None
    sha256: str | None
    pdq: str | None
    quality: int | None
    matches: tuple[Match, ...]
    known_material: bool
    error: str | None
    pdq_refused: str | None = None
    filename: str | None = None

    @property
    def viewable(self) -> bool:
        """False when the upload matched known material: it must never be shown again."""
        return not self.known_material

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "kind": self.kind,
            "md5": self.md5,
            "sha256": self.sha256,
            "pdq": self.pdq,
            "quality": self.quality,
            "known_material": self.known_material,
            "viewable": self.viewable,
            "matches": [m.to_dict() for m in self.matches],
            "pdq_refused": self.pdq_refused,
            "error": self.error,
        }


def check_upload(
    data: bytes,
    filename: str | None,
    store: BankStore,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_quality: int = DEFAULT_MIN_QUALITY,
    matcher: Matcher | None = None,
) -> UploadCheck:
    """Hash ``data`` and match it against the enabled banks of ``store``. ``filename`` is only
    echoed back and used in messages; the kind is decided by content."""
    matcher = matcher or Matcher(store, min_quality=min_quality)
    kind, _ = sniff(data)
    try:
        hashes = hash_media(data, name=filename, max_bytes=max_bytes, max_pixels=max_pixels)
    except UploadTooLargeError as exc:
        return UploadCheck(kind, None, None, None, None, (), False, exc.message, filename=filename)
    except MediaError as exc:
        # Undecodable image: still match its exact digests (a hash list may hold this very file).
        hashes = MediaHashes(
            kind=kind,
            format=None,
            size=len(data),
            md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        result = matcher.match(hashes)
        return UploadCheck(
            kind,
            hashes.md5,
            hashes.sha256,
            None,
            None,
            result.matches,
            result.known_material,
            exc.message,
            filename=filename,
        )
    result = matcher.match(hashes)
    error = None
    if hashes.kind == "other":
        error = "not an image or video (its content has no known image or video signature)"
    return UploadCheck(
        hashes.kind,
        hashes.md5,
        hashes.sha256,
        hashes.pdq,
        hashes.quality,
        result.matches,
        result.known_material,
        error,
        pdq_refused=result.pdq_refused,
        filename=filename,
    )
