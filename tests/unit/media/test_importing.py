"""Importing hash lists: plain lists, CSV with a hash column, ThreatExchange/HMA layouts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groomwatch.errors import FormatError, InputError
from groomwatch.media.bank import BankStore
from groomwatch.media.importing import detect_format, import_file
from groomwatch.media.signals import MD5, PDQ, SHA256

RNG = np.random.default_rng(42)
PDQS = [bytes(RNG.integers(0, 256, 32, dtype=np.uint8)).hex() for _ in range(6)]
MD5S = [bytes(RNG.integers(0, 256, 16, dtype=np.uint8)).hex() for _ in range(3)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_plain_list_with_comments_duplicates_and_types(store: BankStore, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "list.txt",
        f"# exported 2024-05-01\n{PDQS[0]}\n\n{PDQS[1].upper()}\n{PDQS[0]}\n{MD5S[0]}\n",
    )
    report = import_file(store, "b", path, source="partner A")
    assert report.format == "list"
    assert (report.added, report.duplicates, report.invalid) == (3, 1, ())
    assert store.info("b").counts == {"pdq": 2, "md5": 1, "sha256": 0}
    entry = store.entry("b", PDQ, 1)
    assert entry.hash == PDQS[1]
    assert entry.source == "partner A"
    assert entry.date is not None  # the import date


def test_bad_line_is_reported_with_its_number_and_nothing_imported(
    store: BankStore, tmp_path: Path
) -> None:
    path = write(tmp_path, "list.txt", f"{PDQS[0]}\n{PDQS[1][:-1]}x\n{PDQS[2]}\nnothex\n")
    with pytest.raises(FormatError) as err:
        import_file(store, "b", path)
    assert err.value.line == 2
    assert str(err.value).startswith(f"{path}, line 2: ")
    assert "1 more bad line" in str(err.value)
    assert not store.exists("b")


def test_skip_invalid_imports_good_lines_and_lists_bad_ones(
    store: BankStore, tmp_path: Path
) -> None:
    path = write(tmp_path, "list.txt", f"{PDQS[0]}\n{PDQS[1][:-1]}x\n{PDQS[2]}\nnothex\n")
    report = import_file(store, "b", path, skip_invalid=True)
    assert report.added == 2
    assert [(i.line, "hex" in i.reason or "length" in i.reason) for i in report.invalid] == [
        (2, True),
        (4, True),
    ]


def test_typed_lines_as_threatexchange_file_api_reads(store: BankStore, tmp_path: Path) -> None:
    sha = "ab" * 32
    path = write(
        tmp_path, "signals.txt", f"pdq {PDQS[0]}\nvideo_md5 {MD5S[0]}\nvideo_sha256 {sha}\n"
    )
    report = import_file(store, "b", path)
    assert report.added == 3
    assert bytes(store.rows("b", SHA256)[0]).hex() == sha
    assert bytes(store.rows("b", MD5)[0]).hex() == MD5S[0]


def test_unsupported_signal_type_is_a_bad_line(store: BankStore, tmp_path: Path) -> None:
    path = write(tmp_path, "signals.txt", f"pdq {PDQS[0]}\nurl_md5 {MD5S[0]}\n")
    with pytest.raises(FormatError, match=r"line 2: unsupported signal type 'url_md5'"):
        import_file(store, "b", path)


def test_sha256_list_must_say_so(store: BankStore, tmp_path: Path) -> None:
    path = write(tmp_path, "sha.txt", f"{PDQS[0]}\n")
    import_file(store, "b", path, signal="sha256")
    assert store.info("b").counts["sha256"] == 1
    assert store.info("b").counts["pdq"] == 0


def test_csv_with_hash_column_source_and_date(store: BankStore, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bank.csv",
        "id,hash,source,added_on\n"
        f"e1,{PDQS[0]},Hotline X,2023-11-02\n"
        f"e2,{PDQS[1]},,\n"
        f'e3,"{PDQS[2]}",Hotline Y,2024-01-05\n',
    )
    report = import_file(store, "b", path, source="default source")
    assert (report.format, report.added) == ("csv", 3)
    first, second = store.entry("b", PDQ, 0), store.entry("b", PDQ, 1)
    assert (first.source, first.date, first.ref) == ("Hotline X", "2023-11-02", "e1")
    assert second.source == "default source"
    assert second.ref == "e2"


def test_csv_column_named_after_the_type(store: BankStore, tmp_path: Path) -> None:
    path = write(tmp_path, "md5.csv", f"md5,note\n{MD5S[0]},x\n{MD5S[1]},y\n")
    assert import_file(store, "b", path).added == 2
    assert store.info("b").counts["md5"] == 2


def test_csv_without_hash_column(store: BankStore, tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", "name,size\na,1\n")
    with pytest.raises(FormatError, match=r"x\.csv, line 1: no hash column"):
        import_file(store, "b", path, fmt="csv")


def test_csv_row_with_wrong_field_count(store: BankStore, tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", f"hash,source\n{PDQS[0]},a\n{PDQS[1]},b,extra\n")
    with pytest.raises(FormatError, match=r"line 3: 3 fields where the header has 2"):
        import_file(store, "b", path)


def test_threatexchange_dataset_csv(store: BankStore, tmp_path: Path) -> None:
    # `threatexchange dataset -P --csv`: signal_type,signal_str,collab,category,tags
    path = write(
        tmp_path,
        "te.csv",
        "signal_type,signal_str,collab,category,tags\n"
        f"pdq,{PDQS[0]},Sample Collab,POSITIVE_CLASS,tag1 tag2\n"
        f"video_md5,{MD5S[0]},Sample Collab,POSITIVE_CLASS,\n"
        f"pdq,{PDQS[1]},Sample Collab,NEGATIVE_CLASS,\n",
    )
    with pytest.raises(FormatError, match=r"line 4: category NEGATIVE_CLASS"):
        import_file(store, "known", path)
    report = import_file(store, "known", path, skip_invalid=True)
    assert report.added == 2
    assert store.entry("known", PDQ, 0).source == "Sample Collab"
    # The same file into a negative bank takes the known false positive too.
    report = import_file(store, "fp", path, create={"negative": True})
    assert report.added == 3
    assert store.get("fp").negative


def test_hma_simple_te_layout(store: BankStore, tmp_path: Path) -> None:
    # HMA keeps simple.<type>.te: indicator, indicator_id, descriptor_id, added_on, labels
    path = write(
        tmp_path,
        "simple.pdq.te",
        f"{PDQS[0]},4001,9001,2021-03-01T10:00:00+0000,label_a label_b\n"
        f"{PDQS[1]},4002,9002,2021-03-02T10:00:00+0000,\n",
    )
    assert detect_format(path.read_text()) == "te"
    report = import_file(store, "b", path)
    assert (report.format, report.added) == ("te", 2)
    e = store.entry("b", PDQ, 0)
    assert (e.ref, e.date, e.source) == ("4001", "2021-03-01T10:00:00+0000", "simple.pdq.te")


def test_threatexchange_cli_te_layout_for_video_md5(store: BankStore, tmp_path: Path) -> None:
    # threatexchange CLI cache: indicator, descriptor_id, added_on, labels
    path = write(tmp_path, "simple.video_md5.te", f"{MD5S[0]},77,2020-01-01,\n")
    import_file(store, "b", path)
    e = store.entry("b", MD5, 0)
    assert (e.hash, e.ref, e.date) == (MD5S[0], "77", "2020-01-01")


def test_not_utf8_and_missing_files(store: BankStore, tmp_path: Path) -> None:
    path = tmp_path / "bin.txt"
    path.write_bytes(PDQS[0].encode() + b"\n\xff\xfe\x00\n")
    with pytest.raises(FormatError, match=r"line 2: not UTF-8"):
        import_file(store, "b", path)
    with pytest.raises(InputError, match="no such file"):
        import_file(store, "b", tmp_path / "missing.txt")
    with pytest.raises(InputError, match="is a directory"):
        import_file(store, "b", tmp_path)


def test_new_bank_takes_the_given_settings(store: BankStore, tmp_path: Path) -> None:
    path = write(tmp_path, "l.txt", f"{PDQS[3]}\n")
    import_file(store, "km", path, create={"known_material": True, "threshold": 20})
    bank = store.get("km")
    assert bank.known_material
    assert bank.threshold == 20
