"""The bank store: settings, appends, duplicates, metadata, persistence, crash leftovers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from groomwatch.errors import InputError
from groomwatch.media.bank import BankEntry, BankStore, HashBank, UnknownBankError
from groomwatch.media.signals import MD5, PDQ


def pdq_entries(n: int, seed: int = 0, **meta: str) -> list[BankEntry]:
    rng = np.random.default_rng(seed)
    return [BankEntry("pdq", bytes(r), **meta) for r in rng.integers(0, 256, (n, 32), np.uint8)]


def test_create_defaults_and_settings(store: BankStore) -> None:
    bank = store.create("ncmec-sample")
    assert (bank.enabled, bank.threshold, bank.negative, bank.known_material) == (
        True,
        31,
        False,
        False,
    )
    store.create("fp", negative=True, threshold=20, suppresses=("ncmec-sample",))
    assert store.names() == ["fp", "ncmec-sample"]
    assert store.get("fp").applies_to("ncmec-sample")
    assert not store.get("fp").applies_to("other")
    assert not store.get("ncmec-sample").applies_to("ncmec-sample")


def test_bad_settings_are_input_errors(store: BankStore) -> None:
    with pytest.raises(InputError, match="cannot be known material"):
        store.create("x", negative=True, known_material=True)
    with pytest.raises(InputError, match="threshold"):
        store.create("y", threshold=300)
    with pytest.raises(InputError, match="only a negative bank"):
        store.create("z", suppresses=("a",))
    store.create("ok")
    with pytest.raises(InputError, match="already exists"):
        store.create("ok")


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "x" * 65, "sp ace"])
def test_bank_names_cannot_escape_the_store(store: BankStore, name: str) -> None:
    with pytest.raises(InputError, match="bad bank name"):
        store.create(name)
    assert not (store.root.parent / "escape").exists()


def test_unknown_bank(store: BankStore) -> None:
    with pytest.raises(UnknownBankError, match="no hash bank named 'nope'"):
        store.get("nope")
    with pytest.raises(UnknownBankError):
        store.update("nope", enabled=False)


def test_update_changes_settings_without_touching_hashes(store: BankStore) -> None:
    store.create("b")
    store.add("b", pdq_entries(10))
    generation_files = sorted(p.name for p in (store.root / "b").iterdir())
    updated = store.update("b", enabled=False, threshold=12)
    assert (updated.enabled, updated.threshold) == (False, 12)
    assert store.info("b").counts["pdq"] == 10
    assert sorted(p.name for p in (store.root / "b").iterdir()) == generation_files
    with pytest.raises(InputError, match="threshold"):
        store.update("b", threshold=-1)


def test_duplicates_are_ignored_within_and_across_batches(store: BankStore) -> None:
    store.create("b")
    entries = pdq_entries(50)
    result = store.add("b", entries + entries[:5])
    assert (result.added, result.duplicates) == (50, 5)
    result = store.add("b", entries[10:20] + pdq_entries(3, seed=9))
    assert (result.added, result.duplicates) == (3, 10)
    rows = store.rows("b", PDQ)
    assert len(np.unique(rows.view("V32").ravel())) == len(rows) == 53


def test_rows_sharing_a_prefix_are_not_duplicates(store: BankStore) -> None:
    store.create("b")
    prefix = bytes(range(8))
    a, b = prefix + bytes(24), prefix + bytes(23) + b"\x01"
    assert store.add("b", [BankEntry("pdq", a)]).added == 1
    result = store.add("b", [BankEntry("pdq", b), BankEntry("pdq", a)])
    assert (result.added, result.duplicates) == (1, 1)
    assert [bytes(r) for r in store.rows("b", PDQ)] == [a, b]


def test_entries_keep_source_date_and_ref(store: BankStore) -> None:
    store.create("b")
    md5 = bytes(range(16))
    store.add("b", [BankEntry("md5", md5, "NCMEC list", "2024-05-01", "id-7")])
    store.add("b", pdq_entries(2, source="hotline", date="2025-01-02"))
    e = store.entry("b", MD5, 0)
    assert (e.hash, e.source, e.date, e.ref) == (md5.hex(), "NCMEC list", "2024-05-01", "id-7")
    e = store.entry("b", PDQ, 1)
    assert (e.source, e.date, e.ref) == ("hotline", "2025-01-02", None)
    assert e.value == bytes(store.rows("b", PDQ)[1])
    with pytest.raises(IndexError):
        store.entry("b", PDQ, 2)


def test_store_persists_across_processes(tmp_path: Path) -> None:
    first = BankStore.open(tmp_path / "banks")
    first.create("b", known_material=True)
    first.add("b", pdq_entries(20))
    second = BankStore.open(tmp_path / "banks", create=False)
    assert second.get("b").known_material
    assert second.info("b").counts == {"pdq": 20, "md5": 0, "sha256": 0}
    first.add("b", pdq_entries(5, seed=3))  # another store object sees the change
    assert len(second.rows("b", PDQ)) == 25
    assert len(second.pdq_index("b")) == 25


def test_open_refuses_missing_or_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such directory"):
        BankStore.open(tmp_path / "missing", create=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        BankStore.open(tmp_path / "file")


def test_bytes_left_by_a_crashed_import_are_discarded(store: BankStore) -> None:
    store.create("b")
    store.add("b", pdq_entries(4))
    with (store.root / "b" / "pdq.bin").open("ab") as f:
        f.write(b"\xff" * 45)  # half-written rows past the committed count
    with (store.root / "b" / "pdq.meta.jsonl").open("ab") as f:
        f.write(b'{"source": "crash')
    assert len(store.rows("b", PDQ)) == 4  # readers see committed rows only
    store.add("b", pdq_entries(2, seed=5, source="after"))
    assert (store.root / "b" / "pdq.bin").stat().st_size == 6 * 32
    assert store.entry("b", PDQ, 5).source == "after"


def test_unreadable_settings_are_reported(store: BankStore) -> None:
    store.create("b")
    (store.root / "b" / "bank.json").write_text("{not json")
    with pytest.raises(InputError, match="unreadable bank settings"):
        store.get("b")


def test_delete_and_rebuild(store: BankStore) -> None:
    store.create("b")
    for seed in range(3):
        store.add("b", pdq_entries(100, seed=seed))
    store.rebuild_index("b")
    assert [(s.start, s.end) for s in store.pdq_index("b").segments] == [(0, 300)]
    store.delete("b")
    assert store.names() == []


def test_hash_bank_model_is_frozen() -> None:
    bank = HashBank(name="b")
    with pytest.raises(ValueError, match="frozen"):
        bank.threshold = 3  # type: ignore[misc]
