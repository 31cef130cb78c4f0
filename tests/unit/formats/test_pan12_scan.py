"""The fast PAN 2012 path gives exactly what lxml gives, and hands unusual XML to lxml."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.errors import FormatError
from groomwatch.formats.base import ReadContext, ReadOptions, ReadReport
from groomwatch.formats.pan12 import iter_conversations
from groomwatch.formats.pan12_scan import can_scan, scan_conversations


def both(data: bytes, skip: bool = False) -> tuple[list[object], list[object]]:
    def ctx() -> ReadContext:
        return ReadContext("c.xml", ReadOptions(), ReadReport(), skip)

    assert can_scan(data[:4096])
    fast = [(c, dict(c.meta)) for c in scan_conversations(io.BytesIO(data), ctx())]
    slow = [(c, dict(c.meta)) for c in iter_conversations(io.BytesIO(data), ctx())]
    return fast, slow


def test_toy_corpus_is_read_identically(shared_data: Path) -> None:
    for xml in sorted((shared_data / "pan12-toy").glob("*/*.xml")):
        fast, slow = both(xml.read_bytes())
        assert fast == slow
        assert len(fast) in (9, 17)


def msg(line: str, author: str, time: str, text: str) -> str:
    return (
        f'<message line="{line}">\n<author>{author}</author>\n<time>{time}</time>\n'
        f"{text}\n</message>\n"
    )


UNUSUAL = [
    # entities, numeric references, CRLF inside text, empty text, empty author
    msg("1", "a", "10:00", "<text>x &amp; y &lt;3 &#233;&#x263A; &quot;q&apos;</text>"),
    msg("2", "a", "10:00", "<text>one\r\ntwo\rthree</text>"),
    msg("3", "a", "10:01", "<text />"),
    msg("4", "", "10:02", "<text>no author</text>"),
    # CDATA, elements in another order, a comment inside: lxml's business
    msg("5", "b", "10:03", "<text><![CDATA[a <b> c]]></text>"),
    '<message line="6"><text>swapped</text><time>10:04</time><author>b</author></message>',
    '<message line="7"><!-- note --><author>b</author><time>10:05</time><text>c</text></message>',
    "<message line='8'><author>b</author><time>10:06</time><text>quotes</text></message>",
    msg("9", "b", "10:07", "<text>mojibake cafÃ©</text>"),
    msg("10", "b\r\nc &amp; d", "10:&#48;8", "<text>plain</text>"),
]


@pytest.mark.parametrize("body", UNUSUAL)
def test_unusual_messages_match_lxml(body: str) -> None:
    data = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<conversations>\n'
        f'<conversation id="c1">\n{msg("0", "z", "09:00", "<text>plain</text>")}'
        f"{body}</conversation>\n<!-- between -->\n"
        f'<conversation id="c2" lang="en">{msg("1", "q", "09:00", "<text>attr</text>")}'
        f"</conversation>\n</conversations>\n"
    ).encode()
    fast, slow = both(data)
    assert fast == slow
    assert [c.id for c, _ in fast] == ["c1", "c2"]


def test_bad_xml_in_a_conversation_is_reported_at_its_file_line() -> None:
    data = (
        "<conversations>\n"
        '<conversation id="c1">\n'
        + msg("1", "a", "10:00", "<text>fine</text>")
        + "</conversation>\n"
        '<conversation id="c2">\n<message line="1">\n<author>a</author>\n<time>1</time>\n'
        "<text>bad &nbsp; entity</text>\n</message>\n</conversation>\n</conversations>\n"
    ).encode()
    with pytest.raises(FormatError) as info:
        list(
            scan_conversations(
                io.BytesIO(data), ReadContext("c.xml", ReadOptions(), ReadReport(), False)
            )
        )
    assert info.value.line == 13
    report = ReadReport()
    convs = list(
        scan_conversations(io.BytesIO(data), ReadContext("c.xml", ReadOptions(), report, True))
    )
    assert convs[0].id == "c1"


def test_truncated_file() -> None:
    data = (
        b'<conversations>\n<conversation id="c1">\n' + msg("1", "a", "1", "<text>x</text>").encode()
    )
    with pytest.raises(FormatError, match="ends before </conversations>"):
        list(
            scan_conversations(
                io.BytesIO(data), ReadContext("c.xml", ReadOptions(), ReadReport(), False)
            )
        )


def test_chunk_boundaries(monkeypatch: pytest.MonkeyPatch) -> None:
    from groomwatch.formats import pan12_scan

    body = "".join(
        f'<conversation id="c{i}">'
        + msg(str(i), "a", "1", f"<text>é{i}</text>")
        + "</conversation>\n"
        for i in range(50)
    )
    data = f"<conversations>\n{body}</conversations>".encode()
    monkeypatch.setattr(pan12_scan, "CHUNK", 7)  # split tags and multi-byte characters
    fast, slow = both(data)
    assert fast == slow
    assert len(fast) == 50


def test_other_encodings_and_doctype_take_the_lxml_path() -> None:
    assert not can_scan(b'<?xml version="1.0" encoding="ISO-8859-1"?><conversations>')
    assert not can_scan(b"<!DOCTYPE x><conversations>")
    assert not can_scan(b"<chats>")
    assert can_scan(b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?>\n<conversations>")


texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(texts, texts), min_size=1, max_size=5))
def test_any_escaped_text_reads_the_same(pairs: list[tuple[str, str]]) -> None:
    from xml.sax.saxutils import escape

    body = "".join(
        msg(str(i), escape(a) or "x", "10:00", f"<text>{escape(t)}</text>")
        for i, (a, t) in enumerate(pairs)
    )
    data = f'<conversations><conversation id="c">{body}</conversation></conversations>'.encode()
    fast, slow = both(data)
    assert fast == slow


def test_hot_loop_messages_are_ordinary_messages() -> None:
    import dataclasses

    from groomwatch.conversation import Message
    from groomwatch.formats.pan12_scan import _new_message

    m = _new_message("hi", "a", "10:00", 3)
    assert type(m) is Message
    assert m == Message("hi", "a", "10:00", 3)
    assert hash(m) == hash(Message("hi", "a", "10:00", 3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.text = "x"  # type: ignore[misc]
