"""PAN 2012 Sexual Predator Identification: the corpus XML, its ground truth, and checksums of
the official files.

The XML is read with lxml's ``iterparse`` and every element is cleared as soon as it has been
turned into a :class:`~groomwatch.conversation.Message`, so the 2,058,781-message official test
corpus reads in bounded memory (one conversation at a time). Message ``time`` stays PAN's
``HH:MM``; the ``line`` attribute is kept in ``Message.line`` because problem 2's ground truth
(``conversation-id<TAB>line``) refers to it.

When the ground truth lies beside the XML (the training predators list, or the test set's
problem 1 file, and the problem 2 file), every conversation gets ``label`` (1 when one of its
authors is a listed predator, else 0), ``meta["predators"]`` (those authors) and, with problem 2,
``meta["predator_lines"]`` (its lines the organisers marked).
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import Any

from lxml import etree

from groomwatch.conversation import Conversation, Message
from groomwatch.errors import FormatError
from groomwatch.formats.base import ChatFormat, ReadContext, SkippedRecord, Source
from groomwatch.formats.decoding import repair

#: SHA-256 of the official files after ``dos2unix`` (``../shared/data/README.md``).
OFFICIAL_SHA256: Mapping[str, str] = {
    "pan12-sexual-predator-identification-groundtruth-problem1.txt": (
        "342c12b06d148b025ad92d12d57c816ec0abd1743f0d1e9dda552fe6af7c41d2"
    ),
    "pan12-sexual-predator-identification-test-corpus-2012-05-17.xml": (
        "ff1d94fb61c8fb13fadb8859ac55471e9a4e19a06f50a7134ec06ed3d3b3f201"
    ),
    "pan12-sexual-predator-identification-training-corpus-2012-05-01.xml": (
        "1630a5923460da3f940482a5c8d7ed57f845762154cd56c69238d45e7bbc6ca1"
    ),
    "pan12-sexual-predator-identification-training-corpus-predators-2012-05-01.txt": (
        "a8594e6439c885c98c4a6232ce8661690b762ec98850c23918e3d4bce5e366f0"
    ),
}

#: Official sizes, for reports: conversations, messages, predators.
OFFICIAL_SIZES: Mapping[str, tuple[int, int, int]] = {
    "train": (66_927, 903_607, 142),
    "test": (155_128, 2_058_781, 254),
}


class Pan12ChecksumWarning(UserWarning):
    """A file with an official PAN 2012 name does not have the official content."""


# --- ground truth -------------------------------------------------------------------------------


def read_problem1(path: str | Path) -> frozenset[str]:
    """Predator author ids, one a line (the training predators list, or the test set's problem 1
    ground truth). A missing final newline and blank lines are fine."""
    path = Path(path)
    ids: set[str] = set()
    for number, line in _lines(path):
        value = line.strip()
        if not value:
            continue
        if any(c.isspace() for c in value):
            raise FormatError("expected one author id, found spaces", path=str(path), line=number)
        ids.add(value)
    return frozenset(ids)


def read_problem2(path: str | Path) -> dict[str, frozenset[int]]:
    """Problem 2 ground truth: ``conversation-id<TAB>line`` a line → {conversation: lines}."""
    path = Path(path)
    found: dict[str, set[int]] = {}
    for number, line in _lines(path):
        if not line.strip():
            continue
        parts = line.strip().split()
        if len(parts) != 2 or not parts[1].isdigit():
            raise FormatError(
                "expected 'conversation-id<TAB>line-number'", path=str(path), line=number
            )
        found.setdefault(parts[0], set()).add(int(parts[1]))
    return {cid: frozenset(lines) for cid, lines in found.items()}


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
    except OSError as exc:
        raise FormatError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    return enumerate(text.splitlines(), 1)


@dataclass(frozen=True, slots=True)
class Pan12GroundTruth:
    """The labels of a PAN 2012 corpus: predator author ids (problem 1) and, where known, the
    predator lines of each conversation (problem 2)."""

    predators: frozenset[str] = frozenset()
    predator_lines: Mapping[str, frozenset[int]] = field(default_factory=dict)
    files: tuple[str, ...] = ()

    @property
    def has_lines(self) -> bool:
        return bool(self.predator_lines)

    def lines(self) -> frozenset[tuple[str, int]]:
        """Problem 2 as a set of ``(conversation id, line)`` pairs."""
        return frozenset((cid, n) for cid, ns in self.predator_lines.items() for n in ns)

    def to_dict(self) -> dict[str, Any]:
        return {
            "predators": sorted(self.predators),
            "predator_lines": {k: sorted(v) for k, v in sorted(self.predator_lines.items())},
            "files": list(self.files),
        }

    @classmethod
    def beside(cls, path: str | Path) -> Pan12GroundTruth | None:
        """The ground truth in a corpus folder (or beside a corpus XML), or None when there is
        none. The training predators list and the problem 1 file are both read if present."""
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        predators: set[str] = set()
        lines: dict[str, frozenset[int]] = {}
        files: list[str] = []
        for candidate in sorted(folder.glob("*.txt")):
            name = candidate.name.lower()
            if "predators" in name or "groundtruth-problem1" in name:
                predators |= read_problem1(candidate)
                files.append(str(candidate))
            elif "groundtruth-problem2" in name:
                lines.update(read_problem2(candidate))
                files.append(str(candidate))
        if not files:
            return None
        return cls(predators=frozenset(predators), predator_lines=lines, files=tuple(files))


# --- checksums ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChecksumResult:
    """One official file checked: ``ok`` when its SHA-256 is the official one;
    ``ok_after_dos2unix`` when it only matches once CRLF line ends become LF."""

    name: str
    path: str
    expected: str
    actual: str
    ok: bool
    ok_after_dos2unix: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": self.path,
            "expected": self.expected,
            "actual": self.actual,
            "ok": self.ok,
            "ok_after_dos2unix": self.ok_after_dos2unix,
        }


def verify_official_files(path: str | Path, *, warn: bool = True) -> list[ChecksumResult]:
    """Check every file with an official PAN 2012 name in ``path`` (a file, or a folder and its
    sub-folders) against the official SHA-256. Each mismatch also issues a
    :class:`Pan12ChecksumWarning` (unless ``warn=False``) saying what to do about it."""
    path = Path(path)
    candidates = [path] if path.is_file() else sorted(path.rglob("pan12-*"))
    results = []
    for file in candidates:
        expected = OFFICIAL_SHA256.get(file.name)
        if expected is None or not file.is_file():
            continue
        raw, unix = _sha256_both(file)
        result = ChecksumResult(
            name=file.name,
            path=str(file),
            expected=expected,
            actual=raw,
            ok=raw == expected,
            ok_after_dos2unix=raw != expected and unix == expected,
        )
        results.append(result)
        if warn and not result.ok:
            if result.ok_after_dos2unix:
                advice = "it has Windows line ends; run dos2unix on it (the content is official)"
            else:
                advice = "it is not the official file (an excerpt, an edit or a damaged copy)"
            warnings.warn(
                f"{file}: SHA-256 {raw[:12]}… differs from the official {expected[:12]}…; "
                f"{advice}. Results on it are not comparable with published PAN 2012 results.",
                Pan12ChecksumWarning,
                stacklevel=2,
            )
    return results


def _sha256_both(file: Path) -> tuple[str, str]:
    """SHA-256 of the file as it is, and with CRLF turned into LF, in one pass."""
    raw = hashlib.sha256()
    unix = hashlib.sha256()
    carry = b""
    with file.open("rb") as f:
        while chunk := f.read(4 * 1024 * 1024):
            raw.update(chunk)
            data = carry + chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            if carry:
                data = data[:-1]
            unix.update(data.replace(b"\r\n", b"\n"))
    unix.update(carry)
    return raw.hexdigest(), unix.hexdigest()


# --- the corpus XML -----------------------------------------------------------------------------


def sniff(head: str, suffix: str | None) -> bool:
    start = head.lstrip("\ufeff \t\r\n")
    if start.startswith("<?xml"):
        start = start[start.find("?>") + 2 :].lstrip()
    return start.startswith("<conversations") or (
        "<conversations" in head[:2000] and "<conversation " in head
    )


def read(source: Source, ctx: ReadContext) -> Iterator[Conversation]:
    truth = Pan12GroundTruth.beside(source.path) if source.path is not None else None
    if truth is not None:
        ctx.report.note(
            f"PAN 2012 ground truth read from {', '.join(Path(f).name for f in truth.files)}"
        )
    from groomwatch.formats import pan12_scan

    fast = pan12_scan.can_scan(source.head(4096))
    with source.open() as stream:
        if fast:
            yield from pan12_scan.scan_conversations(stream, ctx, truth)
        else:
            yield from iter_conversations(stream, ctx, truth)


_author = attrgetter("author")


def make_conversation(
    cid: str, messages: list[Message], truth: Pan12GroundTruth | None
) -> Conversation:
    """A conversation, labelled from the ground truth when there is one."""
    if truth is None:
        return Conversation(id=cid, messages=tuple(messages))
    label, meta = labels(cid, map(_author, messages), truth)
    return Conversation(id=cid, messages=tuple(messages), label=label, meta=meta)


def labels(
    cid: str, authors: Iterable[str | None], truth: Pan12GroundTruth
) -> tuple[int, dict[str, Any]]:
    """A conversation's label and meta from the ground truth, given its message authors: 1 and
    ``meta["predators"]`` when a listed predator wrote in it, and ``meta["predator_lines"]``
    when problem 2 marks some of its lines. Both readers label through this one function."""
    found = sorted(truth.predators.intersection(authors))
    meta: dict[str, Any] = {"predators": found}
    marked = truth.predator_lines.get(cid)
    if marked:
        meta["predator_lines"] = sorted(marked)
    return (1 if found else 0), meta


def iter_conversations(
    stream: Any, ctx: ReadContext, truth: Pan12GroundTruth | None = None
) -> Iterator[Conversation]:
    """Stream the conversations of a PAN 2012 XML file (a binary stream) with lxml's iterparse.

    This is the general path: any well-formed XML, any encoding, with exact error positions.
    :func:`groomwatch.formats.pan12_scan.scan_conversations` is the fast path for files in the
    official layout and hands anything unusual back to lxml."""
    parser = etree.iterparse(
        stream,
        events=("end",),
        tag=("message", "conversation"),
        recover=ctx.skip_invalid,
        # Internal entities only: no external files or URLs (XXE); libxml2's default limits
        # on entity expansion and text size stay on (no huge_tree).
        resolve_entities="internal",
        no_network=True,
    )
    messages: list[Message] = []
    append = messages.append
    try:
        for _, el in parser:
            if el.tag == "message":
                author = time = None
                text = ""
                for child in el:
                    tag = child.tag
                    if tag == "text":
                        text = child.text or ""
                    elif tag == "author":
                        author = child.text
                    elif tag == "time":
                        time = child.text
                number = el.get("line")
                el.clear()
                if not text.isascii():
                    text = repair(text)
                try:
                    line = int(number) if number is not None else None
                except ValueError:
                    ctx.fail(
                        f"line attribute is not a number: {number[:20]!r}",
                        line=el.sourceline,
                        field="message.line",
                    )
                    continue
                append(Message(text, author, time, line))
                continue
            cid = el.get("id")
            el.clear()
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
            if not cid:
                ctx.fail("conversation without an id", line=el.sourceline, field="conversation.id")
                messages = []
                append = messages.append
                continue
            conv = make_conversation(cid, messages, truth)
            messages = []
            append = messages.append
            yield conv
    except etree.XMLSyntaxError as exc:
        raise FormatError(
            f"not well-formed XML: {exc.msg}", path=ctx.path, line=exc.lineno or None
        ) from None
    if ctx.skip_invalid:
        for entry in parser.error_log:
            ctx.report.skipped.append(SkippedRecord(ctx.path, entry.line, entry.message))
    root = parser.root
    if root is None:
        raise FormatError("no XML content", path=ctx.path)
    if root.tag != "conversations":
        raise FormatError(
            f"the root element is <{root.tag}>, not PAN 2012's <conversations>", path=ctx.path
        )


FORMAT = ChatFormat(
    name="pan12",
    description="PAN 2012 Sexual Predator Identification corpus XML (ground truth beside it)",
    extensions=(".xml",),
    sniff=sniff,
    read=read,
    exclusive=True,
)
