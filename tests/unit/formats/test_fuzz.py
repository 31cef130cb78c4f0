"""Every reader on arbitrary bytes: it parses, or raises FormatError; never anything else."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from groomwatch.conversation import Conversation
from groomwatch.errors import FormatError
from groomwatch.formats import FORMATS, read_bytes


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("_chat.txt", "25/01/2024, 10:00 - A: hi\n25/01/2024, 10:01 - B: hello\n")
        zf.writestr("b.json", '{"channel": {"id": "1"}, "messages": []}')
    return buf.getvalue()


_ZIP = _zip()

# Starts that take the fuzzer past each format's first check, so it reaches deeper code.
PREFIXES = [
    b"",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b'<conversations><conversation id="a"><message line="',
    b'{"id": "a", "messages": [',
    b'{"guild": {}, "channel": {"id": 1}, "messages": [{"type": "Default", "author": ',
    b'{"name": "x", "type": "personal_chat", "messages": [{"type": "message", "date": ',
    b'{"chats": {"list": [',
    b"25/01/2024, 10:00 - A: hi\n",
    b"[25/01/2024, 10:00:01] A: hi\n",
    b"text,label,conversation_id,time\n",
    b"A: hi\nB: ",
    b"PK\x03\x04",
    _ZIP[:60],  # a real archive, cut
    _ZIP,  # a real archive, with bytes after it
]
SUFFIXES = [b"", b"\n", b"]}", b"</text></message></conversation></conversations>", b'"}]}\n']

inputs = st.builds(
    lambda a, b, c: a + b + c,
    st.sampled_from(PREFIXES),
    st.binary(max_size=300),
    st.sampled_from(SUFFIXES),
)


@pytest.mark.parametrize("fmt", ["auto", *FORMATS.names()])
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=inputs, skip=st.booleans(), name=st.sampled_from([None, "x.txt", "x.json", "x.csv"]))
def test_reader_parses_or_raises_format_error(
    fmt: str, data: bytes, skip: bool, name: str | None
) -> None:
    try:
        convs = read_bytes(data, filename=name, format=fmt, skip_invalid=skip)
    except FormatError as exc:
        message = str(exc)
    else:
        assert all(isinstance(c, Conversation) for c in convs)
        return
    assert message.startswith((name or "<upload>", "<input>"))
