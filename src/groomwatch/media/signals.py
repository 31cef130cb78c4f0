"""The kinds of hash ("signal types", in ThreatExchange's words) a bank can hold; their text form.

- ``pdq``: Meta's 256-bit perceptual photo hash, written as 64 lowercase hex digits, compared by
  Hamming distance (the number of differing bits, 0..256).
- ``md5`` and ``sha256``: cryptographic digests of the file's bytes, compared for equality only.

Hashes are kept as packed ``uint8`` rows (32 bytes for PDQ) so that millions of them fit in one
NumPy array or memory-mapped file, with no Python object per hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from groomwatch.errors import InputError

Rows = NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class SignalType:
    """One kind of hash: its ``name``, size in bytes, and whether it is compared by distance."""

    name: str
    nbytes: int
    perceptual: bool

    @property
    def hex_length(self) -> int:
        return 2 * self.nbytes


PDQ: Final = SignalType("pdq", 32, perceptual=True)
MD5: Final = SignalType("md5", 16, perceptual=False)
SHA256: Final = SignalType("sha256", 32, perceptual=False)

SIGNAL_TYPES: Final[dict[str, SignalType]] = {s.name: s for s in (PDQ, MD5, SHA256)}

# Names other tools give the same signals: python-threatexchange's ``SignalType.get_name()``
# (``pdq``, ``video_md5``, ``video_sha256``) and HMA's bank exports use these.
SIGNAL_ALIASES: Final[dict[str, str]] = {
    "pdq": "pdq",
    "photo_pdq": "pdq",
    "hash_pdq": "pdq",
    "md5": "md5",
    "video_md5": "md5",
    "photo_md5": "md5",
    "hash_md5": "md5",
    "sha256": "sha256",
    "sha-256": "sha256",
    "video_sha256": "sha256",
    "photo_sha256": "sha256",
    "hash_sha256": "sha256",
}

DIHEDRAL_VARIANTS: Final[tuple[str, ...]] = (
    "original",
    "rotate90",
    "rotate180",
    "rotate270",
    "flip_x",
    "flip_y",
    "flip_plus1",
    "flip_minus1",
)
"""The eight PDQ dihedral variants, in the order ``pdqhash.compute_dihedral`` returns them: the
hash of the upload as it is, rotated, and mirrored about each axis and diagonal."""

_HEX = frozenset("0123456789abcdef")


def signal_type(name: str) -> SignalType:
    """The signal type called ``name`` (or one of its aliases), or :class:`InputError`."""
    canonical = SIGNAL_ALIASES.get(name.strip().lower())
    if canonical is None:
        known = ", ".join(sorted(SIGNAL_ALIASES))
        raise InputError(f"unsupported signal type {name!r} (known: {known})")
    return SIGNAL_TYPES[canonical]


def parse_hex(text: str, kind: SignalType) -> bytes:
    """The bytes of a hash written in hex (case and surrounding space ignored)."""
    value = text.strip().lower()
    if len(value) != kind.hex_length:
        raise InputError(
            f"a {kind.name} hash has {kind.hex_length} hex digits, got {len(value)}: {value[:80]!r}"
        )
    if not _HEX.issuperset(value):
        raise InputError(f"not a hex {kind.name} hash: {value[:80]!r}")
    return bytes.fromhex(value)


def guess_signal_type(text: str) -> SignalType:
    """Guess a hash's type from its length: 32 hex digits are MD5, 64 are PDQ (the common case in
    hash lists; SHA-256 lists must say so with ``--signal-type sha256`` or a typed column)."""
    n = len(text.strip())
    if n == MD5.hex_length:
        return MD5
    if n == PDQ.hex_length:
        return PDQ
    raise InputError(f"not a hash of a known length (32 or 64 hex digits): {text.strip()[:80]!r}")


def to_hex(row: bytes | Rows) -> str:
    return bytes(row).hex()


def pack_bits(bits: NDArray[np.integer]) -> Rows:
    """Pack a 256-element 0/1 vector (most significant bit first, as ``pdqhash`` returns it) into
    32 bytes; the hex of those bytes is the standard PDQ hex form."""
    return np.packbits(np.asarray(bits, dtype=np.uint8).reshape(-1, 256), axis=1)


def _rows(x: Rows | bytes) -> Rows:
    if isinstance(x, bytes | bytearray):
        return np.frombuffer(x, dtype=np.uint8)
    return np.asarray(x, dtype=np.uint8)


def hamming(a: Rows | bytes, b: Rows | bytes) -> NDArray[np.int64]:
    """Hamming distances between packed rows ``a`` (n, k) and ``b`` (k,) or (n, k)."""
    x = np.bitwise_xor(_rows(a), _rows(b))
    counts: NDArray[np.int64] = np.bitwise_count(x).sum(axis=-1, dtype=np.int64)
    return counts
