"""Encodings: BOMs, UTF-16, Latin-1/Windows-1252 and mojibake are decoded to the right text."""

from __future__ import annotations

import pytest

from groomwatch.formats import read_bytes

TEXT = "Jérôme: ça va? On se voit au café à 16h"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        b"\xef\xbb\xbf" + TEXT.encode("utf-8"),
        TEXT.encode("utf-16"),
        TEXT.encode("latin-1"),
        TEXT.encode("cp1252"),
        TEXT.encode("utf-8").decode("latin-1").encode("utf-8"),  # mojibake: UTF-8 read as Latin-1
    ],
    ids=["utf8", "utf8-bom", "utf16", "latin1", "cp1252", "mojibake"],
)
def test_plain_text_encodings(data: bytes) -> None:
    [conv] = read_bytes(data, filename="chat.txt", format="text")
    assert (conv.messages[0].author, conv.messages[0].text) == (
        "Jérôme",
        "ça va? On se voit au café à 16h",
    )


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: s.encode("utf-8"),
        lambda s: s.encode("utf-16"),
        lambda s: s.encode("cp1252"),
        lambda s: s.encode("utf-8").decode("latin-1").encode("utf-8"),
    ],
    ids=["utf8", "utf16", "cp1252", "mojibake"],
)
def test_line_formats_decode_each_line(encode: object) -> None:
    csv_text = "text,label\r\ncafé crème,0\r\nniño,1\r\n"
    data = encode(csv_text)  # type: ignore[operator]
    convs = read_bytes(data, filename="x.csv")
    assert [c.messages[0].text for c in convs] == ["café crème", "niño"]


def test_jsonl_with_one_latin1_line() -> None:
    data = '{"id": "a", "messages": [{"text": "café"}]}\n'.encode() + (
        '{"id": "b", "messages": [{"text": "café"}]}\n'.encode("latin-1")
    )
    assert [c.messages[0].text for c in read_bytes(data, filename="x.jsonl")] == ["café", "café"]


def test_whatsapp_cp1252() -> None:
    data = "25/01/2024, 10:00 - Zoë: où es-tu?\n".encode("cp1252")
    [conv] = read_bytes(data, filename="chat.txt")
    assert (conv.messages[0].author, conv.messages[0].text) == ("Zoë", "où es-tu?")
