"""Pure functions of the hotline: URL normalisation, references, content sniffing, file names,
the evidence store's paths, message highlighting, workflow rules and the audit hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from groomwatch.hotline import audit
from groomwatch.hotline.analysis import HighlightedMessage
from groomwatch.hotline.evidence import EvidenceStore, safe_filename, sniff_media_type
from groomwatch.hotline.reports import new_reference, normalise_reference, normalise_url
from groomwatch.hotline.workflow import TRANSITIONS, Role, Status


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://WWW.Example.COM/a/b/?utm_source=x&b=2&a=1#frag",
            "https://example.com/a/b?a=1&b=2",
        ),
        ("https://example.com:443//a//b", "https://example.com/a/b"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://m.example.com/a", "https://m.example.com/a"),
        (None, None),
    ],
)
def test_normalise_url(url: str | None, expected: str | None) -> None:
    assert normalise_url(url) == expected


def test_references_are_readable_and_forgiving() -> None:
    refs = {new_reference() for _ in range(200)}
    assert len(refs) == 200
    assert all(re.fullmatch(r"GW-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", r) for r in refs)
    assert normalise_reference("gw 7k3m q9xd") == "GW-7K3M-Q9XD"
    assert normalise_reference("GW-7K3M-Q9XO") == "GW-7K3M-Q9X0"  # O read as zero


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "image/png"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 20, "image/jpeg"),
        (b"GIF89a" + b"\0" * 20, "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"PK\x03\x04rest", "application/zip"),
        ("12/03/2024, 16:03 - Alex: hola ¿qué tal?".encode(), "text/plain"),
        ("caf\xe9 au lait".encode("latin-1"), "text/plain"),
        ("hi".encode("utf-16"), "text/plain"),
        (b"MZ\x90\x00\x03\x00\x00\x00", None),
        (b"\x7fELF\x02\x01\x01\x00" + b"\0" * 20, None),
        (b"", None),
    ],
)
def test_sniff_by_content(data: bytes, expected: str | None) -> None:
    assert sniff_media_type(data) == expected


def test_safe_filename() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\Users\\x\\chat.txt") == "chat.txt"
    assert safe_filename("a\x00b\nc.png") == "abc.png"
    assert safe_filename("") == "upload"
    assert len(safe_filename("x" * 500)) == 120


def test_evidence_store_rejects_anything_but_a_digest(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    for bad in ("../x", "a" * 63, "A" * 64, "0" * 64 + "/.."):
        with pytest.raises(ValueError, match="SHA-256"):
            store.path(bad)
    sha = store.put(b"evidence")
    assert store.put(b"evidence") == sha
    assert store.path(sha).parent.name == sha[:2]
    assert not (store.path(sha).stat().st_mode & 0o222)  # read-only


def test_highlight_segments_merge_overlaps() -> None:
    m = HighlightedMessage(
        index=0,
        author="a",
        time=None,
        text="keep this secret and delete it",
        findings=(
            {"tactic": "secrecy", "start": 5, "end": 16},
            {"tactic": "secrecy", "start": 10, "end": 16},
            {"tactic": "secrecy", "start": 21, "end": 27},
            {"tactic": "bogus", "start": 50, "end": 90},
        ),
        suspect=True,
    )
    assert m.segments() == [
        ("keep ", None),
        ("this secret", "secrecy"),
        (" and ", None),
        ("delete", "secrecy"),
        (" it", None),
    ]


def test_workflow_rules() -> None:
    for status in Status:
        assert status in TRANSITIONS
        assert status not in TRANSITIONS[status]
    assert Status.REFERRED_TO_POLICE not in TRANSITIONS[Status.RECEIVED]
    assert Role.ADMIN.at_least(Role.SUPERVISOR)
    assert not Role.ANALYST.at_least(Role.SUPERVISOR)


def test_entry_hash_covers_every_field() -> None:
    base = dict(
        seq=1,
        at="2026-01-01T00:00:00.000000Z",
        actor="user:1",
        action="report.view",
        object_type="report",
        object_id="1",
        details="{}",
        prev_hash=audit.GENESIS,
    )
    h = audit.entry_hash(**base)  # type: ignore[arg-type]
    for key in base:
        changed = dict(base)
        changed[key] = 2 if key == "seq" else str(base[key]) + "x"
        assert audit.entry_hash(**changed) != h, key  # type: ignore[arg-type]
