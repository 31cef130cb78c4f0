"""Matching an upload's hashes against every enabled bank, with an explanation of each match.

Rules (``docs/media-matching.md`` says the same in prose):

- MD5 and SHA-256 entries match when equal to the file's digest. PDQ entries match when the
  Hamming distance from any of the upload's eight dihedral variants is at most the bank's own
  threshold; the smallest distance is reported, with the variant that gave it.
- PDQ is not matched when the upload's PDQ quality is below the minimum (default 50): a flat or
  featureless image has an unreliable hash. The result says so in ``pdq_refused``.
- A *negative* bank holds known false positives. If the upload is within that bank's threshold of
  one of its PDQ entries, every PDQ match in the banks it covers is suppressed; if the upload's
  digest equals one of its MD5/SHA-256 entries, every match in those banks is suppressed.
  Suppressed matches are still reported (``counted: false``) with the entry that suppressed them.
- A counted match in a *known material* bank classifies the upload as known material: it must
  never be shown to anyone again (``viewable: false``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal

import numpy as np

from groomwatch.media.bank import BankStore, HashBank
from groomwatch.media.hashing import DEFAULT_MIN_QUALITY, MediaHashes
from groomwatch.media.signals import DIHEDRAL_VARIANTS, MD5, PDQ, SHA256, Rows, SignalType

MAX_MATCHES_PER_BANK: Final = 25

Classification = Literal["known_material", "match", "no_match"]


@dataclass(frozen=True, slots=True)
class Suppression:
    """The negative-bank entry that suppressed a match."""

    bank: str
    signal_type: str
    hash: str
    distance: int
    threshold: int
    source: str | None = None
    date: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "signal_type": self.signal_type,
            "hash": self.hash,
            "distance": self.distance,
            "threshold": self.threshold,
            "source": self.source,
            "date": self.date,
        }


@dataclass(frozen=True, slots=True)
class Match:
    """One bank entry the upload matched, and why it counts (or why it does not)."""

    bank: str
    signal_type: str
    hash: str
    distance: int
    threshold: int
    variant: str | None = None
    source: str | None = None
    date: str | None = None
    ref: str | None = None
    known_material: bool = False
    suppressed_by: Suppression | None = None

    @property
    def counted(self) -> bool:
        return self.suppressed_by is None

    @property
    def explanation(self) -> str:
        if self.signal_type == PDQ.name:
            why = (
                f"PDQ distance {self.distance} is at most {self.threshold}, the threshold of "
                f"bank {self.bank!r}"
            )
            if self.variant and self.variant != "original":
                why += (
                    f", after turning the upload by {self.variant} (it is a rotated or mirrored "
                    "copy)"
                )
        else:
            why = f"the file's {self.signal_type.upper()} equals an entry of bank {self.bank!r}"
        if self.source or self.date:
            why += f"; entry from {self.source or 'unknown source'}"
            if self.date:
                why += f", {self.date}"
        s = self.suppressed_by
        if s is not None:
            if s.signal_type == PDQ.name:
                near = f"within distance {s.distance} (threshold {s.threshold})"
            else:
                near = f"an exact {s.signal_type.upper()} match"
            return (
                f"not counted: {why}, but the upload is {near} of known false positive "
                f"{s.hash[:16]}... in negative bank {s.bank!r}"
            )
        if self.known_material:
            why += (
                "; the bank holds known material, so the upload is classified as known "
                "material and must not be shown again"
            )
        return why

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "signal_type": self.signal_type,
            "hash": self.hash,
            "distance": self.distance,
            "threshold": self.threshold,
            "variant": self.variant,
            "source": self.source,
            "date": self.date,
            "ref": self.ref,
            "known_material": self.known_material,
            "counted": self.counted,
            "suppressed_by": self.suppressed_by.to_dict() if self.suppressed_by else None,
            "explanation": self.explanation,
        }


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Every match of one upload (counted ones first, then suppressed ones), and whether PDQ
    matching was refused and why. Holds hashes, never content."""

    hashes: MediaHashes
    matches: tuple[Match, ...] = ()
    pdq_refused: str | None = None
    truncated: tuple[str, ...] = field(default=())

    @property
    def counted(self) -> tuple[Match, ...]:
        return tuple(m for m in self.matches if m.counted)

    @property
    def known_material(self) -> bool:
        return any(m.known_material for m in self.counted)

    @property
    def classification(self) -> Classification:
        if self.known_material:
            return "known_material"
        return "match" if self.counted else "no_match"

    def to_dict(self) -> dict[str, Any]:
        hashes = self.hashes.to_dict()
        hashes.pop("dihedral", None)
        return {
            "classification": self.classification,
            "known_material": self.known_material,
            "viewable": not self.known_material,
            "hashes": hashes,
            "pdq_refused": self.pdq_refused,
            "matches": [m.to_dict() for m in self.matches],
            "truncated_banks": list(self.truncated),
        }


def quality_refusal(quality: int | None, min_quality: int) -> str | None:
    if quality is None or quality >= min_quality:
        return None
    return (
        f"PDQ quality {quality} is below {min_quality}: the image is too flat or featureless "
        "for its PDQ hash to be reliable, so it was not matched by PDQ (MD5/SHA-256 still were)"
    )


class Matcher:
    """Matches hashes against the enabled banks of one :class:`BankStore`."""

    def __init__(
        self,
        store: BankStore,
        *,
        min_quality: int = DEFAULT_MIN_QUALITY,
        dihedral: bool = True,
        max_per_bank: int = MAX_MATCHES_PER_BANK,
    ) -> None:
        self.store = store
        self.min_quality = min_quality
        self.dihedral = dihedral
        self.max_per_bank = max_per_bank

    def match(self, hashes: MediaHashes) -> MatchResult:
        banks = [b for b in self.store.banks() if b.enabled]
        refused = quality_refusal(hashes.quality, self.min_quality)
        queries: Rows | None = None
        if hashes.dihedral is not None and refused is None:
            queries = hashes.dihedral if self.dihedral else hashes.dihedral[:1]
        digests = {MD5.name: bytes.fromhex(hashes.md5), SHA256.name: bytes.fromhex(hashes.sha256)}

        found: dict[str, list[Match]] = {}
        truncated: list[str] = []
        for bank in banks:
            bank_matches = self._exact(bank, digests)
            if queries is not None:
                pdq_matches, cut = self._pdq(bank, queries)
                bank_matches += pdq_matches
                if cut:
                    truncated.append(bank.name)
            if bank_matches:
                found[bank.name] = bank_matches

        negatives = {b.name: b for b in banks if b.negative}
        out: list[Match] = []
        for name, bank_matches in found.items():
            if name in negatives:
                continue
            for m in bank_matches:
                sup = self._suppression(m, found, negatives)
                out.append(m if sup is None else replace(m, suppressed_by=sup))
        out.sort(key=lambda m: (not m.counted, not m.known_material, m.distance, m.bank, m.hash))
        return MatchResult(hashes, tuple(out), refused, tuple(truncated))

    def _exact(self, bank: HashBank, digests: dict[str, bytes]) -> list[Match]:
        out = []
        for signal in (MD5, SHA256):
            rows = self.store.rows(bank.name, signal)
            if len(rows) == 0:
                continue
            digest = np.frombuffer(digests[signal.name], dtype=np.uint8)
            first = rows.view(np.uint64)[:, 0]
            (cand,) = np.nonzero(first == digest.view(np.uint64)[0])
            for row in cand:
                if np.array_equal(rows[row], digest):
                    out.append(self._make(bank, signal, int(row), 0, None))
        return out

    def _pdq(self, bank: HashBank, queries: Rows) -> tuple[list[Match], bool]:
        if self.store.info(bank.name).counts.get(PDQ.name, 0) == 0:
            return [], False
        hits = self.store.pdq_index(bank.name).query(queries, bank.threshold)
        order = np.lexsort((hits.rows, hits.distances))[: self.max_per_bank]
        matches = [
            self._make(
                bank,
                PDQ,
                int(hits.rows[i]),
                int(hits.distances[i]),
                DIHEDRAL_VARIANTS[int(hits.variants[i])],
            )
            for i in order
        ]
        return matches, len(hits) > self.max_per_bank

    def _make(
        self, bank: HashBank, signal: SignalType, row: int, distance: int, variant: str | None
    ) -> Match:
        entry = self.store.entry(bank.name, signal, row)
        return Match(
            bank=bank.name,
            signal_type=signal.name,
            hash=entry.hash,
            distance=distance,
            threshold=bank.threshold if signal.perceptual else 0,
            variant=variant,
            source=entry.source,
            date=entry.date,
            ref=entry.ref,
            known_material=bank.known_material,
        )

    @staticmethod
    def _suppression(
        m: Match, found: dict[str, list[Match]], negatives: dict[str, HashBank]
    ) -> Suppression | None:
        best: Suppression | None = None
        for name, neg in negatives.items():
            if not neg.applies_to(m.bank):
                continue
            for n in found.get(name, ()):
                # A PDQ negative suppresses PDQ matches only; an exact negative suppresses all.
                if n.signal_type == PDQ.name and m.signal_type != PDQ.name:
                    continue
                if best is None or n.distance < best.distance:
                    best = Suppression(
                        n.bank, n.signal_type, n.hash, n.distance, n.threshold, n.source, n.date
                    )
        return best
