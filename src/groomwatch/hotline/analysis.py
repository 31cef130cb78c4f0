"""What the hotline learns from an upload: a chat export read by ``groomwatch.formats`` and
assessed by the detector, or an image hashed and matched against known-hash lists by
``groomwatch.media`` (when the ``media`` extra is installed; MD5 and SHA-256 only otherwise).

Used both for reports (the analysis is stored with the evidence) and for the parents' "check a
conversation" page (analysed in memory, nothing stored).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError, InputError


@dataclass(frozen=True, slots=True)
class HighlightedMessage:
    """One message of a conversation with the findings in it (tactic names and spans)."""

    index: int
    author: str | None
    time: str | None
    text: str
    findings: tuple[dict[str, Any], ...]
    suspect: bool

    @property
    def tactics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f["tactic"] for f in self.findings))

    def segments(self) -> list[tuple[str, str | None]]:
        """The text cut into (piece, tactic) pairs; ``tactic`` is ``None`` outside a finding.
        Overlapping spans are merged under the first tactic."""
        spans = sorted(
            (int(f.get("start", 0)), int(f.get("end", 0)), str(f["tactic"]))
            for f in self.findings
            if 0 <= int(f.get("start", 0)) < int(f.get("end", 0)) <= len(self.text)
        )
        out: list[tuple[str, str | None]] = []
        pos = 0
        for start, end, tactic in spans:
            if start < pos:
                continue
            if start > pos:
                out.append((self.text[pos:start], None))
            out.append((self.text[start:end], tactic))
            pos = end
        if pos < len(self.text):
            out.append((self.text[pos:], None))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "author": self.author,
            "time": self.time,
            "text": self.text,
            "findings": list(self.findings),
        }


@dataclass(frozen=True, slots=True)
class ConversationCheck:
    """One conversation of a chat export and its assessment (``Assessment.to_dict()``)."""

    conversation: Conversation
    assessment: dict[str, Any]

    @property
    def risk(self) -> float:
        return float(self.assessment.get("risk") or 0.0)

    @property
    def flagged(self) -> bool:
        return bool(self.assessment.get("flagged"))

    @property
    def legal(self) -> list[dict[str, Any]]:
        """Legal elements per framework (advisory), when they were assessed."""
        return list(self.assessment.get("legal") or [])

    @property
    def risk_history(self) -> list[float]:
        return [float(r) for r in self.assessment.get("risk_history") or []]

    @property
    def tactics_found(self) -> list[str]:
        names = (f["tactic"] for f in self.assessment.get("findings") or [])
        return list(dict.fromkeys(names))

    def messages(self) -> list[HighlightedMessage]:
        by_message: dict[int, list[dict[str, Any]]] = {}
        for f in self.assessment.get("findings") or []:
            by_message.setdefault(int(f["message"]), []).append(f)
        suspect = self.assessment.get("suspect")
        return [
            HighlightedMessage(
                index=i,
                author=m.author,
                time=m.time,
                text=m.text,
                findings=tuple(by_message.get(i, ())),
                suspect=suspect is not None and m.author == suspect,
            )
            for i, m in enumerate(self.conversation.messages)
        ]


@dataclass(frozen=True, slots=True)
class ChatAnalysis:
    """Every conversation of one chat export, assessed."""

    conversations: tuple[ConversationCheck, ...] = field(default_factory=tuple)

    @property
    def risk(self) -> float:
        return max((c.risk for c in self.conversations), default=0.0)

    @property
    def flagged(self) -> bool:
        return any(c.flagged for c in self.conversations)

    def to_dict(self) -> dict[str, Any]:
        """What is stored with the evidence: assessments only (the messages stay in the file)."""
        return {
            "risk": self.risk,
            "flagged": self.flagged,
            "conversations": [
                {"id": c.conversation.id, **c.assessment} for c in self.conversations
            ],
        }


_detector_lock = threading.Lock()


@lru_cache(maxsize=1)
def _detector() -> Any:
    from groomwatch.detect import Detector

    with _detector_lock:
        return Detector.load()


def read_chat(data: bytes, filename: str | None) -> list[Conversation]:
    """The conversations of a chat export in any format ``groomwatch.formats`` reads."""
    from groomwatch.formats import read_bytes

    conversations: list[Conversation] = read_bytes(
        data, filename=filename or "upload", format="auto"
    )
    if not conversations or not any(c.messages for c in conversations):
        raise FormatError("no chat messages were found in this file", path=filename)
    return conversations


def analyse_chat(
    data: bytes, filename: str | None, detector: Any = None, *, legal: bool = False
) -> ChatAnalysis:
    """Read and assess a chat export with ``detector`` (the packaged one by default); with
    ``legal``, add the legal elements (``groomwatch.legal``, advisory) of each conversation with
    findings. Raises :class:`~groomwatch.errors.InputError` (with the reader's message) when it
    cannot be read."""
    conversations = read_chat(data, filename)
    detector = detector if detector is not None else _detector()
    checks = []
    for conv in conversations:
        assessment = detector.assess(conv)
        full = getattr(assessment, "to_full_dict", assessment.to_dict)()
        # The scan contract calls the findings "tactics"; here they are "findings".
        full["findings"] = full.pop("tactics", full.get("findings", []))
        if legal and full["findings"]:
            full["legal"] = _legal_elements(conv, assessment)
        checks.append(ConversationCheck(conversation=conv, assessment=full))
    return ChatAnalysis(conversations=tuple(checks))


def _legal_elements(conv: Conversation, assessment: Any) -> list[dict[str, Any]]:
    try:
        from groomwatch.legal import assess_legal
    except ImportError:  # pragma: no cover - part of the core
        return []
    return [framework.to_dict() for framework in assess_legal(conv, assessment)]


def analysis_from_stored(conversations: list[Conversation], stored: dict[str, Any]) -> ChatAnalysis:
    """Rebuild a :class:`ChatAnalysis` from a re-read file and the stored assessments."""
    assessments = {a.get("id"): a for a in stored.get("conversations") or []}
    checks = []
    for conv in conversations:
        a = dict(assessments.get(conv.id) or {})
        a.pop("id", None)
        checks.append(ConversationCheck(conversation=conv, assessment=a))
    return ChatAnalysis(conversations=tuple(checks))


@dataclass(frozen=True, slots=True)
class ImageCheck:
    """Hashes of an image and whether a known-hash list matched it."""

    pdq: str | None
    known_material: bool
    matches: tuple[dict[str, Any], ...] = ()


def open_media_store(media_dir: Path) -> Any:
    """The hash bank store of ``groomwatch.media`` at ``media_dir``
    (``Settings.resolved_media_dir``),
    or ``None`` when the ``media`` extra is not installed."""
    try:
        from groomwatch.media.bank import BankStore
    except ImportError:
        return None
    return BankStore.open(media_dir)


def check_image(data: bytes, filename: str | None, media_store: Any = None) -> ImageCheck:
    """PDQ hash and known-hash matching by ``groomwatch.media`` when installed (matching only
    with a hash bank ``media_store``); without the ``media`` extra, no perceptual hash (MD5 and
    SHA-256 are taken at intake anyway)."""
    try:
        from groomwatch.media.hashing import hash_media
        from groomwatch.media.intake import check_upload
    except ImportError:
        return ImageCheck(pdq=None, known_material=False)
    if media_store is None:
        try:
            return ImageCheck(pdq=hash_media(data, name=filename).pdq, known_material=False)
        except InputError:
            return ImageCheck(pdq=None, known_material=False)
    result = check_upload(data, filename, media_store)
    return ImageCheck(
        pdq=result.pdq,
        known_material=result.known_material,
        matches=tuple(m.to_dict() for m in result.matches),
    )
