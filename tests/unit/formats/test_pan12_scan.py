"""The fast PAN 2012 path gives exactly what lxml gives, and hands unusual XML to lxml."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError
from groomwatch.formats.base import ReadContext, ReadOptions, ReadReport
from groomwatch.formats.pan12 import Pan12GroundTruth, iter_conversations
from groomwatch.formats.pan12_scan import can_scan, scan_conversations

Read = list[tuple[Conversation, dict[str, Any]]]


def both(data: bytes, skip: bool = False) -> tuple[Read, Read]:
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
    # a message commented out is no message
    "<!-- " + msg("11", "b", "10:09", "<text>hidden</text>") + " -->",
    msg("12", "b", "10:10", "<text>x</text>") + "stray text inside the conversation",
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


# --- whole regions at a time, the file's layout, line numbers --------------------------------

# The white space of a message in some layouts a program may write: the official files' two
# spaces, the benchmark generator's tabs, none at all, and Windows line ends.
LAYOUTS = {
    "spaces": ("\n", "  ", "    ", "      "),
    "tabs": ("\n", "\t", "\t\t", "\t\t\t"),
    "none": ("", "", "", ""),
    "crlf": ("\r\n", "  ", "    ", "      "),
}
WORDS = ["hi", "homework", "game", "later", "ok", "school", "lol", "bus"]


def corpus(
    layout: str, conversations: int, seed: int = 1, extra: dict[int, str] | None = None
) -> str:
    """A synthetic PAN 2012 file in one layout: texts with escapes, line breaks, non-ASCII
    characters, empty and self-closing texts; ``extra`` replaces some messages' text elements."""
    import random

    nl, i1, i2, i3 = LAYOUTS[layout]
    rng = random.Random(seed)
    out = [f"<conversations>{nl}"]
    number = 0
    for c in range(conversations):
        out.append(f'{i1}<conversation id="c{c:04d}">{nl}')
        pair = [f"u{rng.randrange(30):02d}", f"u{rng.randrange(30):02d}"]
        if c % 7 == 3:
            pair[1] = ""  # an empty author is None, as is an empty time
        for line in range(1, rng.choice([1, 2, 3, 5, 13, 40]) + 1):
            number += 1
            words = " ".join(rng.choices(WORDS, k=rng.randrange(6)))
            text = rng.choice(
                [f"<text>{words}</text>"] * 8
                + [
                    f"<text>{words} &amp; &lt;3</text>",
                    f"<text>{words}\nnext line</text>",
                    "<text>caf\u00e9 na\u00efve</text>",
                    "<text></text>",
                    "<text />",
                ]
            )
            if extra and number in extra:
                text = extra[number]
            out.append(
                f'{i2}<message line="{line}">{nl}'
                f"{i3}<author>{pair[rng.randrange(2)]}</author>{nl}"
                f"{i3}<time>{'' if c % 11 == 5 else f'{rng.randrange(24):02d}:00'}</time>{nl}"
                f"{i3}{text}{nl}{i2}</message>{nl}"
            )
        out.append(f"{i1}</conversation>{nl}")
    out.append(f"</conversations>{nl}")
    return "".join(out)


def read_both(data: bytes, truth: Pan12GroundTruth | None = None) -> tuple[Read, Read]:
    def ctx() -> ReadContext:
        return ReadContext("c.xml", ReadOptions(), ReadReport(), False)

    fast = [(c, dict(c.meta)) for c in scan_conversations(io.BytesIO(data), ctx(), truth)]
    slow = [(c, dict(c.meta)) for c in iter_conversations(io.BytesIO(data), ctx(), truth)]
    return fast, slow


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize(("chunk", "region"), [(1 << 20, 1 << 16), (4096, 700), (97, 1)])
def test_layouts_read_like_lxml_at_any_chunk_and_region_size(
    monkeypatch: pytest.MonkeyPatch, layout: str, chunk: int, region: int
) -> None:
    from groomwatch.formats import pan12_scan

    monkeypatch.setattr(pan12_scan, "CHUNK", chunk)
    monkeypatch.setattr(pan12_scan, "REGION", region)
    data = corpus(layout, 60).encode()
    fast, slow = read_both(data)
    assert fast == slow
    assert len(fast) == 60
    texts = {m.text for c, _ in fast for m in c.messages}
    assert {"café naïve", ""} <= texts
    assert any("&" in t for t in texts)
    assert any("\n" in t for t in texts)
    messages = [m for c, _ in fast for m in c.messages]
    assert any(m.author is None for m in messages)
    assert any(m.time is None for m in messages)


def test_regions_use_the_layout_and_count_line_breaks_exactly() -> None:
    from groomwatch.formats.pan12_scan import _Layout, _region

    for layout in LAYOUTS:
        text = corpus(layout, 40, seed=7)
        start = text.index("<conversation ")
        region = text[start : text.rindex("</conversation>") + len("</conversation>")]
        learnt = _Layout.learn(region)
        assert learnt is not None
        found = _region(region, None, learnt)
        assert found is not None
        convs, breaks = found
        assert len(convs) == 40
        assert breaks == region.count("\n"), layout
        # Without a layout the general pattern reads the same and leaves counting to the caller.
        general = _region(region, None, None)
        assert general is not None
        assert general == (convs, None)
    # A comment with a line break between conversations is counted too.
    text = corpus("spaces", 3).replace("</conversation>\n", "</conversation>\n<!-- a\nb -->\n", 1)
    region = text[text.index("<conversation ") : text.rindex("</conversation>") + 15]
    found = _region(region, None, _Layout.learn(region))
    assert found is not None
    assert found[1] == region.count("\n")


def test_a_different_layout_later_in_the_file_falls_back_to_the_general_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from groomwatch.formats import pan12_scan

    monkeypatch.setattr(pan12_scan, "REGION", 500)
    first = corpus("spaces", 20, seed=3)
    second = corpus("tabs", 20, seed=4).replace('id="c', 'id="d')
    body = first[: first.rindex("</conversations>")] + second[second.index("<conversation ") :]
    fast, slow = read_both(body.encode())
    assert fast == slow
    assert len(fast) == 40


@pytest.mark.parametrize("layout", ["spaces", "crlf", "none"])
def test_errors_after_many_regions_name_the_file_line(
    monkeypatch: pytest.MonkeyPatch, layout: str
) -> None:
    from groomwatch.formats import pan12_scan

    monkeypatch.setattr(pan12_scan, "CHUNK", 1000)
    monkeypatch.setattr(pan12_scan, "REGION", 300)
    text = corpus(layout, 80, seed=5, extra={150: "<text>bad &nbsp; entity</text>"})
    expected = text[: text.index("&nbsp;")].count("\n") + 1
    with pytest.raises(FormatError) as info:
        list(
            scan_conversations(
                io.BytesIO(text.encode()), ReadContext("c.xml", ReadOptions(), ReadReport(), False)
            )
        )
    with pytest.raises(FormatError) as lxml_info:
        list(
            iter_conversations(
                io.BytesIO(text.encode()), ReadContext("c.xml", ReadOptions(), ReadReport(), False)
            )
        )
    assert info.value.line == lxml_info.value.line == expected
    # The same file truncated: the error names its last line.
    text = corpus(layout, 80, seed=5)
    cut = text[: text.index("</conversation>", len(text) // 2)]
    with pytest.raises(FormatError, match="ends before") as info:
        list(
            scan_conversations(
                io.BytesIO(cut.encode()), ReadContext("c.xml", ReadOptions(), ReadReport(), False)
            )
        )
    assert info.value.line == cut.count("\n") + 1


def test_labels_from_the_ground_truth_match_lxml(monkeypatch: pytest.MonkeyPatch) -> None:
    from groomwatch.formats import pan12_scan

    monkeypatch.setattr(pan12_scan, "REGION", 2000)
    data = corpus("tabs", 50, seed=9).encode()
    truth = Pan12GroundTruth(
        predators=frozenset({"u03", "u17", "nobody"}),
        predator_lines={"c0002": frozenset({1, 2}), "c0031": frozenset({3}), "zz": frozenset({1})},
    )
    fast, slow = read_both(data, truth)
    assert fast == slow
    labels = [c.label for c, _ in fast]
    assert set(labels) == {0, 1}
    metas = {c.id: meta for c, meta in fast}
    assert metas["c0002"]["predator_lines"] == [1, 2]
    assert all(m["predators"] == sorted(m["predators"]) for m in metas.values())
    # Each meta is a dictionary of its own.
    assert len({id(c.meta) for c, _ in fast}) == 50


@pytest.mark.parametrize(
    "odd",
    [
        '<conversation id="e1"></conversation>',  # no messages
        '<conversation id="e2">\n</conversation>',
        '<conversation id="">' + msg("1", "a", "10:00", "<text>no id</text>") + "</conversation>",
        '<conversation id="t\tab">' + msg("1", "a", "10:00", "<text>x</text>") + "</conversation>",
        '<conversation id="e3">'
        + msg("1", "a &amp; b", "10:00", "<text>x</text>")
        + "</conversation>",
        '<conversation id="e4">'
        + msg("1", "a", "10:00", "<text>x</text>")
        + "<?pi x?></conversation>",
        '<conversation id="e5">'
        + msg("1", "a", "10:00", "<text>x</text>")[:-1]
        + "\u00a0</conversation>",
        "junk text between",
        "<!-- </conversation> <conversation> -->",  # tags in a comment are no tags
    ],
)
def test_odd_conversations_among_regular_ones_read_like_lxml(
    monkeypatch: pytest.MonkeyPatch, odd: str
) -> None:
    from groomwatch.formats import pan12_scan

    monkeypatch.setattr(pan12_scan, "REGION", 400)
    monkeypatch.setattr(pan12_scan, "CHUNK", 350)
    text = corpus("spaces", 12, seed=11)
    cut = text.index("<conversation ", len(text) // 2)
    data = (text[:cut] + odd + "\n  " + text[cut:]).encode()
    report = ReadReport()
    fast = [
        (c, dict(c.meta))
        for c in scan_conversations(
            io.BytesIO(data), ReadContext("c.xml", ReadOptions(), report, True)
        )
    ]
    slow = [
        (c, dict(c.meta))
        for c in iter_conversations(
            io.BytesIO(data), ReadContext("c.xml", ReadOptions(), ReadReport(), True)
        )
    ]
    assert fast == slow


def test_a_conversation_longer_than_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    from groomwatch.formats import pan12_scan

    monkeypatch.setattr(pan12_scan, "CHUNK", 5000)
    monkeypatch.setattr(pan12_scan, "REGION", 1000)
    body = "".join(msg(str(i), "a", "10:00", f"<text>m{i}</text>") for i in range(1, 400))
    data = (
        f'<conversations>\n<conversation id="long">\n{body}</conversation>\n'
        f'<conversation id="short">\n{msg("1", "b", "10:01", "<text>s</text>")}</conversation>\n'
        "</conversations>\n"
    ).encode()
    fast, slow = read_both(data)
    assert fast == slow
    assert [len(c.messages) for c, _ in fast] == [399, 1]


def test_column_built_objects_are_ordinary() -> None:
    import dataclasses

    from groomwatch.conversation import Conversation, Message
    from groomwatch.formats.pan12_scan import _conversations_of, _messages_of

    messages = _messages_of(2, (["hi", ""], ["a", None], ["10:00", None], [1, 2]))
    assert messages == [Message("hi", "a", "10:00", 1), Message("", None, None, 2)]
    assert [type(m) for m in messages] == [Message, Message]
    assert hash(messages[0]) == hash(Message("hi", "a", "10:00", 1))
    (conv,) = _conversations_of(1, (["c"], [tuple(messages)], [()], [None], [1], [{"k": 1}]))
    assert conv == Conversation("c", tuple(messages), label=1)
    assert conv.to_dict() == Conversation("c", tuple(messages), label=1).to_dict()
    assert Conversation.from_dict(conv.to_dict()) == conv
    with pytest.raises(dataclasses.FrozenInstanceError):
        conv.label = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        messages[0].line = 3  # type: ignore[misc]
