"""Media hash matching: hash images and videos (PDQ, MD5, SHA-256) and match them against banks
of known hashes, with per-bank thresholds, negative banks (known false positives), known-material
banks, and an explanation of every match. See ``docs/media-matching.md``.

The modules import no web framework and no database; Pillow and pdqhash (the ``media`` extra)
are imported only when an image is hashed.
"""

from groomwatch.media.bank import BankEntry, BankInfo, BankStore, HashBank, UnknownBankError
from groomwatch.media.hashing import (
    CorruptMediaError,
    ImageTooLargeError,
    MediaError,
    MediaHashes,
    UnsupportedMediaError,
    UploadTooLargeError,
    hash_media,
    sniff,
)
from groomwatch.media.importing import ImportReport, InvalidLine, import_file
from groomwatch.media.index import MatchIndex
from groomwatch.media.intake import UploadCheck, check_upload
from groomwatch.media.matching import Match, Matcher, MatchResult, Suppression

__all__ = [
    "BankEntry",
    "BankInfo",
    "BankStore",
    "CorruptMediaError",
    "HashBank",
    "ImageTooLargeError",
    "ImportReport",
    "InvalidLine",
    "Match",
    "MatchIndex",
    "MatchResult",
    "Matcher",
    "MediaError",
    "MediaHashes",
    "Suppression",
    "UnknownBankError",
    "UnsupportedMediaError",
    "UploadCheck",
    "UploadTooLargeError",
    "check_upload",
    "hash_media",
    "import_file",
    "sniff",
]
