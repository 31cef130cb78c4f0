"""PAN 2012: the corpus XML on ../shared/data/pan12-toy, both ground-truth files, checksums."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import pytest

from groomwatch.errors import FormatError
from groomwatch.formats import ReadReport, read_bytes, read_conversations
from groomwatch.formats.pan12 import (
    OFFICIAL_SHA256,
    Pan12ChecksumWarning,
    Pan12GroundTruth,
    read_problem1,
    read_problem2,
    verify_official_files,
)

P1 = "pan12-sexual-predator-identification-groundtruth-problem1.txt"
P2 = "pan12-sexual-predator-identification-groundtruth-problem2.txt"
PREDATORS = "pan12-sexual-predator-identification-training-corpus-predators-2012-05-01.txt"


def test_training_set(shared_data: Path) -> None:
    folder = shared_data / "pan12-toy" / "train"
    report = ReadReport()
    convs = list(read_conversations(folder, report=report))
    assert len(convs) == 17
    assert sum(len(c) for c in convs) == 871
    predators = read_problem1(folder / PREDATORS)
    assert len(predators) == 3  # the file has no final newline: the last id still counts
    for conv in convs:
        found = sorted(set(conv.authors) & predators)
        assert conv.meta["predators"] == found
        assert conv.label == (1 if found else 0)
    assert sum(c.label == 1 for c in convs) == 3
    first = convs[0]
    assert first.id == "95539910a8fe6035ecdded42181c5ab3"
    assert [m.line for m in first.messages[:3]] == [1, 2, 3]
    assert first.messages[0].time == "20:48"
    assert any(m.text == "" for c in convs for m in c.messages)  # <text /> is kept, empty
    assert any("predators" in n for n in report.notes)
    assert [s.reason for s in report.skipped_files] == ["ground truth or notes, not a chat"] * 3


def test_test_set_with_both_ground_truth_files(shared_data: Path) -> None:
    folder = shared_data / "pan12-toy" / "test"
    truth = Pan12GroundTruth.beside(folder)
    assert truth is not None
    assert truth.predators == read_problem1(folder / P1)
    assert len(truth.predators) == 5
    problem2 = read_problem2(folder / P2)
    assert sum(len(v) for v in problem2.values()) == 15  # blank lines are ignored
    assert truth.predator_lines == problem2
    convs = {c.id: c for c in read_conversations(folder)}
    assert len(convs) == 9
    assert sum(len(c) for c in convs.values()) == 551
    for cid, lines in problem2.items():
        conv = convs[cid]
        assert conv.meta["predator_lines"] == sorted(lines)
        # problem 2 lines refer to the messages' own line attribute; each conversation's marked
        # lines were written by one author
        by_line = {m.line: m.author for m in conv.messages}
        authors = {by_line[n] for n in lines}
        assert len(authors) == 1
        # the label comes from problem 1 (this excerpt's list lacks one of the line authors)
        assert conv.label == (1 if authors <= truth.predators else 0)
    assert sum(c.label == 1 for c in convs.values()) == 5
    assert sum("predator_lines" in c.meta for c in convs.values()) == 3
    assert (next(iter(problem2)), min(next(iter(problem2.values())))) in truth.lines()


def test_xml_file_alone_reads_its_ground_truth(shared_data: Path) -> None:
    xml = next((shared_data / "pan12-toy" / "test").glob("*.xml"))
    convs = list(read_conversations(xml))
    assert sum(c.label == 1 for c in convs) == 5


def test_bytes_without_ground_truth_have_no_label(shared_data: Path) -> None:
    xml = next((shared_data / "pan12-toy" / "test").glob("*.xml"))
    convs = read_bytes(xml.read_bytes(), filename=xml.name)
    assert len(convs) == 9
    assert all(c.label is None for c in convs)


def test_malformed_xml_names_the_line() -> None:
    data = (
        b'<conversations>\n<conversation id="a">\n'
        b'<message line="1"><author>x</author>\n</conversations>'
    )
    with pytest.raises(FormatError) as info:
        read_bytes(data, filename="c.xml")
    assert info.value.line == 4
    assert "not well-formed XML" in str(info.value)


def test_bad_line_attribute_and_wrong_root() -> None:
    data = (
        b'<conversations><conversation id="a">'
        b'<message line="x"><author>u</author><time>10:00</time><text>hi</text></message>'
        b'<message line="2"><author>u</author><time>10:01</time><text>ok</text></message>'
        b"</conversation></conversations>"
    )
    with pytest.raises(FormatError, match="line attribute is not a number"):
        read_bytes(data, filename="c.xml")
    report = ReadReport()
    [conv] = read_bytes(data, filename="c.xml", skip_invalid=True, report=report)
    assert [m.text for m in conv.messages] == ["ok"]
    assert len(report.skipped) == 1
    with pytest.raises(FormatError, match="root element is <chats>"):
        read_bytes(b"<chats><x/></chats>", filename="c.xml", format="pan12")


def test_entities_are_not_resolved() -> None:
    data = (
        b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<conversations><conversation id="a"><message line="1"><author>u</author>'
        b"<time>10:00</time><text>&e;</text></message></conversation></conversations>"
    )
    with pytest.raises(FormatError, match="Entity 'e' not defined"):
        read_bytes(data, filename="c.xml")
    [conv] = read_bytes(data, filename="c.xml", skip_invalid=True)
    assert "root:" not in conv.messages[0].text


def test_ground_truth_errors_name_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "p2.txt"
    bad.write_text("abc\t1\nabc\tx\n")
    with pytest.raises(FormatError, match=r"p2.txt, line 2"):
        read_problem2(bad)
    bad.write_text("a b\n")
    with pytest.raises(FormatError, match=r"line 1: expected one author id"):
        read_problem1(bad)


def test_checksums(tmp_path: Path, shared_data: Path) -> None:
    # The toy files have official names but not the official content: a clear warning.
    with pytest.warns(Pan12ChecksumWarning, match="not the official file"):
        results = verify_official_files(shared_data / "pan12-toy")
    assert len(results) == 4
    assert not any(r.ok for r in results)
    # A file whose content hashes to an official sum after CRLF→LF is recognised as such.
    name = next(iter(OFFICIAL_SHA256))
    path = tmp_path / name
    path.write_bytes(b"abc\r\ndef\r\n")
    unix = hashlib.sha256(b"abc\ndef\n").hexdigest()
    raw = hashlib.sha256(b"abc\r\ndef\r\n").hexdigest()
    from groomwatch.formats import pan12

    original = dict(pan12.OFFICIAL_SHA256)
    try:
        pan12.OFFICIAL_SHA256 = {name: unix}  # type: ignore[misc]
        with pytest.warns(Pan12ChecksumWarning, match="dos2unix"):
            [r] = verify_official_files(tmp_path)
        assert (r.ok, r.ok_after_dos2unix, r.actual) == (False, True, raw)
        pan12.OFFICIAL_SHA256 = {name: raw}  # type: ignore[misc]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            [r] = verify_official_files(path)
        assert r.ok
    finally:
        pan12.OFFICIAL_SHA256 = original  # type: ignore[misc]
