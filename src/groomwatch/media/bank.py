"""Hash banks and the file store that keeps them.

A :class:`HashBank` is a named list of hashes with its own rules: enabled or not, a PDQ distance
threshold, whether it is a *negative* bank (known false positives that suppress a match) and
whether it holds *known material* (a match classifies an upload as known child sexual abuse
material, which must never be shown to anyone again).

:class:`BankStore` keeps banks as plain files under one directory (no database)::

    banks/<name>/bank.json            the bank's settings and committed state (atomic replace)
    banks/<name>/<signal>.bin         packed hashes, one fixed-size row each, append-only
    banks/<name>/<signal>.meta.jsonl  one JSON object a row: source, date, ref
    banks/<name>/<signal>.meta.off    uint64 byte offset of each row's metadata line
    banks/<name>/index/pdq-*.npy      the PDQ match index segments (see :mod:`.index`)

Readers never lock: ``bank.json`` names how many rows are committed and which index segments
cover them, and committed bytes never change. Writers take a per-bank ``flock``; an import that
dies half-way leaves bytes past the committed count, which the next import cuts off.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from groomwatch.errors import InputError
from groomwatch.media.index import IndexSegment, MatchIndex, merge_plan
from groomwatch.media.signals import PDQ, SIGNAL_TYPES, Rows, SignalType

BANK_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
DEFAULT_THRESHOLD: Final = 31
STATE_VERSION: Final = 1


class UnknownBankError(InputError):
    """No bank of that name."""


class HashBank(BaseModel):
    """A bank's settings. ``threshold`` is the largest PDQ distance (differing bits of 256) that
    counts as a match for this bank; MD5 and SHA-256 entries match only exactly."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=BANK_NAME.pattern)
    enabled: bool = True
    threshold: int = Field(default=DEFAULT_THRESHOLD, ge=0, le=128)
    negative: bool = False
    known_material: bool = False
    suppresses: tuple[str, ...] = Field(
        default=(), description="Negative bank: the banks it suppresses; empty means all."
    )
    description: str = Field(default="", max_length=2000)
    created: str = Field(default_factory=lambda: _now())

    @model_validator(mode="after")
    def _consistent(self) -> HashBank:
        if self.negative and self.known_material:
            raise ValueError("a negative bank (known false positives) cannot be known material")
        if self.suppresses and not self.negative:
            raise ValueError("only a negative bank suppresses other banks")
        return self

    def applies_to(self, bank: str) -> bool:
        """Whether this negative bank suppresses matches in ``bank``."""
        return self.negative and (not self.suppresses or bank in self.suppresses)


@dataclass(frozen=True, slots=True)
class BankEntry:
    """One hash to add to a bank, or one found in it: ``value`` is the packed hash."""

    signal_type: str
    value: bytes
    source: str | None = None
    date: str | None = None
    ref: str | None = None

    @property
    def hash(self) -> str:
        return self.value.hex()

    def meta(self) -> dict[str, str]:
        return {
            k: v for k, v in (("source", self.source), ("date", self.date), ("ref", self.ref)) if v
        }

    def to_dict(self) -> dict[str, Any]:
        return {"signal_type": self.signal_type, "hash": self.hash, **self.meta()}


@dataclass(frozen=True, slots=True)
class AddResult:
    added: int
    duplicates: int

    def to_dict(self) -> dict[str, int]:
        return {"added": self.added, "duplicates": self.duplicates}


@dataclass(frozen=True, slots=True)
class BankInfo:
    """A bank's settings and how many hashes of each type it holds."""

    bank: HashBank
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {**self.bank.model_dump(mode="json"), "counts": dict(self.counts)}


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class _State(BaseModel):
    """What ``bank.json`` records besides settings: committed rows and index segments."""

    model_config = ConfigDict(extra="ignore")

    version: int = STATE_VERSION
    counts: dict[str, int] = Field(default_factory=dict)
    meta_bytes: dict[str, int] = Field(default_factory=dict)
    segments: list[tuple[int, int]] = Field(default_factory=list)
    generation: int = 0


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


class BankStore:
    """All banks under one directory. Safe to share between threads; several processes may read
    while one writes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[str, tuple[tuple[int, int, int], HashBank, _State]] = {}
        self._indexes: dict[str, tuple[int, MatchIndex]] = {}
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> BankStore:
        """The store at ``path``; the directory is created unless ``create`` is false."""
        root = Path(path)
        if root.exists() and not root.is_dir():
            raise InputError(f"{root}: not a directory of hash banks")
        if not root.exists():
            if not create:
                raise InputError(f"{root}: no such directory of hash banks")
            root.mkdir(parents=True, exist_ok=True)
        return cls(root)

    # --- reading ------------------------------------------------------------------------------

    def _dir(self, name: str) -> Path:
        if not BANK_NAME.match(name):
            raise InputError(
                f"bad bank name {name!r}: letters, digits, '_', '.', '-' (at most 64), "
                "starting with a letter or digit"
            )
        return self.root / name

    def exists(self, name: str) -> bool:
        return (self._dir(name) / "bank.json").is_file()

    def names(self) -> list[str]:
        return sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and (p / "bank.json").is_file()
        )

    def _read(self, name: str) -> tuple[HashBank, _State]:
        path = self._dir(name) / "bank.json"
        try:
            st = path.stat()
        except FileNotFoundError:
            raise UnknownBankError(f"no hash bank named {name!r} in {self.root}") from None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            cached = self._cache.get(name)
            if cached and cached[0] == key:
                return cached[1], cached[2]
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            bank = HashBank.model_validate(raw["bank"])
            state = _State.model_validate(raw.get("state", {}))
        except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
            raise InputError(f"{path}: unreadable bank settings: {exc}") from exc
        with self._lock:
            self._cache[name] = (key, bank, state)
        return bank, state

    def get(self, name: str) -> HashBank:
        return self._read(name)[0]

    def info(self, name: str) -> BankInfo:
        bank, state = self._read(name)
        return BankInfo(bank, {s: state.counts.get(s, 0) for s in SIGNAL_TYPES})

    def banks(self) -> list[HashBank]:
        return [self.get(n) for n in self.names()]

    def rows(self, name: str, signal: SignalType) -> Rows:
        """The committed hashes of one type, an (n, nbytes) read-only memory map."""
        _, state = self._read(name)
        return self._rows(name, signal, state.counts.get(signal.name, 0))

    def _rows(self, name: str, signal: SignalType, count: int) -> Rows:
        if count == 0:
            return np.zeros((0, signal.nbytes), dtype=np.uint8)
        path = self._dir(name) / f"{signal.name}.bin"
        mapped = np.memmap(path, dtype=np.uint8, mode="r", shape=(count, signal.nbytes))
        return np.asarray(mapped)  # a plain view of the map, without np.memmap's overhead

    def pdq_index(self, name: str) -> MatchIndex:
        """The bank's PDQ match index (memory-mapped; reloaded only when the bank changed)."""
        _, state = self._read(name)
        with self._lock:
            cached = self._indexes.get(name)
            if cached and cached[0] == state.generation:
                return cached[1]
        index_dir = self._dir(name) / "index"
        hashes = self._rows(name, PDQ, state.counts.get(PDQ.name, 0))
        try:
            segments = [IndexSegment.load(index_dir, s, e) for s, e in state.segments]
        except FileNotFoundError:  # a writer merged segments after we read bank.json: reread
            self._cache.pop(name, None)
            _, state = self._read(name)
            hashes = self._rows(name, PDQ, state.counts.get(PDQ.name, 0))
            segments = [IndexSegment.load(index_dir, s, e) for s, e in state.segments]
        index = MatchIndex(hashes, segments)
        with self._lock:
            self._indexes[name] = (state.generation, index)
        return index

    def entry(self, name: str, signal: SignalType, row: int) -> BankEntry:
        """The hash and metadata (source, date, ref) of one row."""
        _, state = self._read(name)
        count = state.counts.get(signal.name, 0)
        if not 0 <= row < count:
            raise IndexError(f"bank {name!r} has no {signal.name} row {row}")
        base = self._dir(name)
        value = bytes(self._rows(name, signal, count)[row])
        offsets = np.memmap(base / f"{signal.name}.meta.off", dtype=np.uint64, mode="r")
        with (base / f"{signal.name}.meta.jsonl").open("rb") as f:
            f.seek(int(offsets[row]))
            meta = json.loads(f.readline())
        return BankEntry(signal.name, value, meta.get("source"), meta.get("date"), meta.get("ref"))

    # --- writing ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self, name: str) -> Iterator[Path]:
        base = self._dir(name)
        base.mkdir(parents=True, exist_ok=True)
        with (base / ".lock").open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield base
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
                with self._lock:
                    self._cache.pop(name, None)

    def _save(self, base: Path, bank: HashBank, state: _State) -> None:
        _write_json(
            base / "bank.json",
            {"bank": bank.model_dump(mode="json"), "state": state.model_dump(mode="json")},
        )

    def create(self, name: str, **settings: Any) -> HashBank:
        """Create a bank (settings as :class:`HashBank` fields); error if it exists."""
        self._dir(name)  # a clear message for a bad name, before the model's own check
        try:
            bank = HashBank(name=name, **settings)
        except ValidationError as exc:
            raise InputError(_validation_message(exc)) from exc
        with self._writing(name) as base:
            if (base / "bank.json").exists():
                raise InputError(f"hash bank {name!r} already exists")
            self._save(base, bank, _State())
        return bank

    def update(self, name: str, **changes: Any) -> HashBank:
        """Change settings (``enabled``, ``threshold``, ...). No index is rebuilt: thresholds and
        enabled flags are applied at query time."""
        with self._writing(name) as base:
            with self._lock:
                self._cache.pop(name, None)
            bank, state = self._read(name)
            try:
                new = HashBank.model_validate({**bank.model_dump(), **changes, "name": name})
            except ValidationError as exc:
                raise InputError(_validation_message(exc)) from exc
            self._save(base, new, state)
        return new

    def delete(self, name: str) -> None:
        self.get(name)
        with self._writing(name) as base:
            shutil.rmtree(base)
        with self._lock:
            self._indexes.pop(name, None)

    def add(self, name: str, entries: Iterable[BankEntry]) -> AddResult:
        """Append entries (grouped by signal type), ignoring hashes already in the bank or repeated
        in ``entries``. Extends the PDQ index with a segment for the new rows only."""
        by_type: dict[str, list[BankEntry]] = {}
        for e in entries:
            if e.signal_type not in SIGNAL_TYPES:
                raise InputError(f"unsupported signal type {e.signal_type!r}")
            by_type.setdefault(e.signal_type, []).append(e)
        added = duplicates = 0
        with self._writing(name) as base:
            with self._lock:
                self._cache.pop(name, None)
            bank, state = self._read(name)
            state = state.model_copy(deep=True)
            for type_name, batch in by_type.items():
                a, d = self._append(base, SIGNAL_TYPES[type_name], batch, state)
                added += a
                duplicates += d
            state.generation += 1
            self._save(base, bank, state)
            self._drop_stale_segments(base / "index", state.segments)
        return AddResult(added, duplicates)

    def _append(
        self, base: Path, signal: SignalType, batch: Sequence[BankEntry], state: _State
    ) -> tuple[int, int]:
        count = state.counts.get(signal.name, 0)
        values = np.frombuffer(b"".join(e.value for e in batch), dtype=np.uint8)
        if values.size != len(batch) * signal.nbytes:
            raise InputError(f"a {signal.name} hash has {signal.nbytes} bytes")
        values = values.reshape(len(batch), signal.nbytes)
        void = np.dtype((np.void, signal.nbytes))
        as_void = values.view(void).ravel()
        _, first = np.unique(as_void, return_index=True)
        keep = np.zeros(len(batch), dtype=bool)
        keep[first] = True
        if count:
            keep &= ~_already_in(values, self._rows(base.name, signal, count))
        new_rows = values[keep]
        n_new = len(new_rows)
        if n_new == 0:
            return 0, len(batch)
        meta_size = state.meta_bytes.get(signal.name, 0)
        bin_path = base / f"{signal.name}.bin"
        meta_path = base / f"{signal.name}.meta.jsonl"
        off_path = base / f"{signal.name}.meta.off"
        encoded: dict[tuple[str | None, str | None, str | None], bytes] = {}
        lines = []
        for e, k in zip(batch, keep, strict=True):
            if k:
                key = (e.source, e.date, e.ref)
                line = encoded.get(key)
                if line is None:  # most entries of one import share source and date
                    text = json.dumps(e.meta(), separators=(",", ":"), ensure_ascii=False)
                    line = encoded[key] = text.encode() + b"\n"
                lines.append(line)
        lengths = np.fromiter((len(x) for x in lines), dtype=np.uint64, count=n_new)
        offsets = np.uint64(meta_size) + np.concatenate(
            [np.zeros(1, dtype=np.uint64), np.cumsum(lengths, dtype=np.uint64)[:-1]]
        )
        for path, committed, payload in (
            (bin_path, count * signal.nbytes, np.ascontiguousarray(new_rows).tobytes()),
            (meta_path, meta_size, b"".join(lines)),
            (off_path, count * 8, offsets.astype("<u8").tobytes()),
        ):
            with path.open("ab") as f:
                f.truncate(committed)  # drop what a crashed import left past the commit point
            with path.open("r+b") as f:
                f.seek(committed)
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())
        state.counts[signal.name] = count + n_new
        state.meta_bytes[signal.name] = meta_size + int(lengths.sum())
        if signal is PDQ:
            hashes = self._rows(base.name, PDQ, count + n_new)
            plan = merge_plan([*state.segments, (count, count + n_new)])
            have = {tuple(s) for s in state.segments}
            for start, end in plan:
                if (start, end) not in have:
                    IndexSegment.build(hashes, start, end).save(base / "index")
            state.segments = plan
        return n_new, len(batch) - n_new

    def _drop_stale_segments(self, index_dir: Path, segments: Sequence[tuple[int, int]]) -> None:
        if not index_dir.is_dir():
            return
        live = {IndexSegment(s, e).stem for s, e in segments}
        for path in index_dir.glob("pdq-*.npy"):
            if path.name.split(".")[0] not in live:
                path.unlink(missing_ok=True)

    def rebuild_index(self, name: str) -> None:
        """Rebuild the PDQ index of a bank as one segment (after damage, or to compact it)."""
        with self._writing(name) as base:
            bank, state = self._read(name)
            state = state.model_copy(deep=True)
            count = state.counts.get(PDQ.name, 0)
            hashes = self._rows(name, PDQ, count)
            state.segments = [(0, count)] if count else []
            if count:
                IndexSegment.build(hashes, 0, count).save(base / "index")
            state.generation += 1
            self._save(base, bank, state)
            self._drop_stale_segments(base / "index", state.segments)


def _already_in(values: Rows, existing: Rows) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Which rows of ``values`` occur in ``existing`` (both (n, k) uint8, k >= 8): compared on
    their first 8 bytes as integers (fast), then exactly for the few that share those."""
    void = np.dtype((np.void, values.shape[1]))
    head_new = np.ascontiguousarray(values[:, :8]).view(np.uint64).ravel()
    head_old = np.ascontiguousarray(existing[:, :8]).view(np.uint64).ravel()
    maybe = np.isin(head_new, head_old)
    out = np.zeros(len(values), dtype=bool)
    if maybe.any():
        candidates = np.ascontiguousarray(existing[np.isin(head_old, head_new[maybe])])
        out[maybe] = np.isin(
            np.ascontiguousarray(values[maybe]).view(void).ravel(), candidates.view(void).ravel()
        )
    return out


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err["loc"]) or "bank"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
