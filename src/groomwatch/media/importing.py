"""Reading hash lists into banks.

Three layouts, recognised automatically (``fmt="auto"``) or named:

``list``
    One hash a line; blank lines and ``#`` comments ignored. A line may also be
    ``SIGNAL_TYPE VALUE``, as python-threatexchange's ``LocalFileSignalExchangeAPI`` reads and
    ``threatexchange dataset -P`` prints (``pdq 4b24...``, ``video_md5 9e10...``).
``csv``
    A header row, then rows. The hash is in a column named ``hash``, ``signal_value``,
    ``signal_str`` (``threatexchange dataset -P --csv``), ``indicator``, ``value``, or after its
    type (``pdq``, ``md5``, ``sha256``, ``video_md5``...). Optional columns: ``signal_type``
    (or ``type``/``indicator_type``), ``source`` (or ``collab``), ``date`` (or ``added_on``,
    ``created_at``...), ``ref`` (or ``id``/``indicator_id``) and ``category``: a row whose
    category is ``NEGATIVE_CLASS`` (ThreatExchange's "known not harmful") is refused for a
    positive bank, since importing it would turn a false positive into a match.
``te``
    The header-less "simple" CSV that python-threatexchange and HMA keep per signal type
    (``simple.<type>.te``): ``indicator, [indicator_id,] descriptor_id, added_on, labels``.
    The signal type comes from ``--signal-type`` or the file name.

Without an explicit type, 32 hex digits are MD5 and 64 are PDQ (SHA-256 lists must say so).
Duplicate hashes (in the file or already in the bank) are ignored and counted. A bad line is an
error naming the file and line, unless ``skip_invalid``: then it is reported and skipped.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from groomwatch.errors import FormatError, InputError
from groomwatch.media.bank import BankEntry, BankStore
from groomwatch.media.signals import SignalType, guess_signal_type, parse_hex, signal_type

ImportFormat = Literal["auto", "list", "csv", "te"]
BATCH: Final = 200_000

_HASH_COLUMNS: Final = ("hash", "signal_value", "signal_str", "indicator", "value", "signal")
_TYPED_COLUMNS: Final = (
    "pdq", "md5", "sha256", "video_md5", "video_sha256", "pdq_hash", "md5_hash", "sha256_hash"
)  # fmt: skip
_TYPE_COLUMNS: Final = ("signal_type", "type", "indicator_type", "hash_type")
_SOURCE_COLUMNS: Final = ("source", "collab", "collaboration", "owner", "origin")
_DATE_COLUMNS: Final = (
    "date", "added_on", "added", "created", "created_at", "first_seen", "updated", "updated_at"
)  # fmt: skip
_REF_COLUMNS: Final = ("ref", "id", "indicator_id", "signal_id", "external_id", "content_id")
_TE_FILE: Final = re.compile(r"^simple\.([a-z0-9_]+)\.te$")


@dataclass(frozen=True, slots=True)
class InvalidLine:
    line: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class ImportReport:
    bank: str
    path: str
    format: str
    added: int = 0
    duplicates: int = 0
    invalid: tuple[InvalidLine, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "bank": self.bank,
            "path": self.path,
            "format": self.format,
            "added": self.added,
            "duplicates": self.duplicates,
            "invalid": [i.to_dict() for i in self.invalid],
        }


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    entry: BankEntry | None
    error: str | None


def _pick(header: list[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def detect_format(text: str) -> ImportFormat:
    for line in io.StringIO(text):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if "," not in stripped:
            return "list"
        first = next(csv.reader([stripped]))
        header = [c.strip().lower() for c in first]
        if any(h in header for h in (*_HASH_COLUMNS, *_TYPED_COLUMNS)):
            return "csv"
        return "te"
    return "list"


class _Parser:
    def __init__(
        self, path: Path, fmt: ImportFormat, signal: SignalType | None, source: str, date: str
    ) -> None:
        self.path = path
        self.fmt = fmt
        self.signal = signal
        self.source = source
        self.date = date
        if self.signal is None and fmt == "te" and (m := _TE_FILE.match(path.name)):
            try:
                self.signal = signal_type(m.group(1))
            except InputError as exc:
                raise FormatError(str(exc), path=str(path)) from exc

    def entry(
        self, value: str, type_name: str | None, source: str | None, date: str | None,
        ref: str | None,
    ) -> BankEntry:  # fmt: skip
        value = value.strip()
        if type_name:
            kind = signal_type(type_name)
        elif self.signal is not None:
            kind = self.signal
        else:
            kind = guess_signal_type(value)
        return BankEntry(
            kind.name,
            parse_hex(value, kind),
            (source or "").strip() or self.source,
            (date or "").strip() or self.date,
            (ref or "").strip() or None,
        )

    def rows(self, text: str, negative_bank: bool) -> Iterator[_Row]:
        if self.fmt == "list":
            yield from self._list(text)
        elif self.fmt == "csv":
            yield from self._csv(text, negative_bank)
        else:
            yield from self._te(text)

    def _list(self, text: str) -> Iterator[_Row]:
        for number, line in enumerate(io.StringIO(text), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            parts = stripped.split()
            try:
                if len(parts) == 1:
                    yield _Row(number, self.entry(parts[0], None, None, None, None), None)
                elif len(parts) == 2:
                    yield _Row(number, self.entry(parts[1], parts[0], None, None, None), None)
                else:
                    raise InputError("expected one hash, or a signal type and a hash")
            except InputError as exc:
                yield _Row(number, None, str(exc))

    def _csv(self, text: str, negative_bank: bool) -> Iterator[_Row]:
        reader = csv.reader(io.StringIO(text))
        header: list[str] | None = None
        for record in reader:
            number = reader.line_num
            if not record or (len(record) == 1 and not record[0].strip()):
                continue
            if header is None:
                header = [c.strip().lower() for c in record]
                hash_col = _pick(header, _HASH_COLUMNS)
                typed_col = _pick(header, _TYPED_COLUMNS)
                if hash_col is None and typed_col is None:
                    raise FormatError(
                        "no hash column in the CSV header (expected one of: "
                        + ", ".join((*_HASH_COLUMNS, *_TYPED_COLUMNS))
                        + ")",
                        path=str(self.path),
                        line=number,
                    )
                type_col = _pick(header, _TYPE_COLUMNS)
                source_col = _pick(header, _SOURCE_COLUMNS)
                date_col = _pick(header, _DATE_COLUMNS)
                ref_col = _pick(header, _REF_COLUMNS)
                cat_col = _pick(header, ("category",))
                continue

            def cell(i: int | None, rec: list[str] = record) -> str | None:
                return rec[i] if i is not None and i < len(rec) else None

            try:
                if len(record) != len(header):
                    raise InputError(f"{len(record)} fields where the header has {len(header)}")
                category = (cell(cat_col) or "").strip().upper()
                if category == "NEGATIVE_CLASS" and not negative_bank:
                    raise InputError(
                        "category NEGATIVE_CLASS marks a known false positive; import it into "
                        "a negative bank (--negative), not this one"
                    )
                if hash_col is not None:
                    value, type_name = cell(hash_col) or "", cell(type_col)
                else:
                    assert typed_col is not None
                    value, type_name = cell(typed_col) or "", header[typed_col]
                    type_name = type_name.removesuffix("_hash")
                if not value.strip():
                    raise InputError("empty hash")
                entry = self.entry(
                    value, type_name, cell(source_col), cell(date_col), cell(ref_col)
                )
                yield _Row(number, entry, None)
            except InputError as exc:
                yield _Row(number, None, str(exc))

    def _te(self, text: str) -> Iterator[_Row]:
        reader = csv.reader(io.StringIO(text))
        for record in reader:
            number = reader.line_num
            if not record or not record[0].strip() or record[0].lstrip().startswith("#"):
                continue
            try:
                ref = date = None
                # HMA: indicator, indicator_id, descriptor_id, added_on, labels;
                # threatexchange CLI: indicator, descriptor_id, added_on, labels.
                if len(record) >= 5:
                    ref, date = record[1], record[3]
                elif len(record) == 4:
                    ref, date = record[1], record[2]
                yield _Row(number, self.entry(record[0], None, None, date, ref), None)
            except InputError as exc:
                yield _Row(number, None, str(exc))


def import_file(
    store: BankStore,
    bank: str,
    path: Path | str,
    *,
    fmt: ImportFormat = "auto",
    signal: str | None = None,
    source: str | None = None,
    skip_invalid: bool = False,
    create: dict[str, Any] | None = None,
) -> ImportReport:
    """Import a hash list into ``bank``; the bank is created with ``create`` settings (a dict of
    :class:`HashBank` fields) if it does not exist. Without ``skip_invalid`` nothing is imported
    when a line is bad, and :class:`FormatError` names the first bad line."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a hash list") from None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise FormatError("not UTF-8 text", path=str(path), line=line) from None
    chosen: ImportFormat = detect_format(text) if fmt == "auto" else fmt
    kind = signal_type(signal) if signal else None
    today = datetime.now(UTC).date().isoformat()
    parser = _Parser(path, chosen, kind, source or path.name, today)

    if store.exists(bank):
        negative = store.get(bank).negative
    else:
        negative = bool((create or {}).get("negative", False))

    invalid: list[InvalidLine] = []
    for row in parser.rows(text, negative):
        if row.error is not None:
            invalid.append(InvalidLine(row.line, row.error))
    if invalid and not skip_invalid:
        first = invalid[0]
        more = f" (and {len(invalid) - 1} more bad lines)" if len(invalid) > 1 else ""
        raise FormatError(
            f"{first.reason}{more}; nothing was imported (--skip-invalid imports the good lines)",
            path=str(path),
            line=first.line,
        )
    if not store.exists(bank):
        store.create(bank, **(create or {}))

    added = duplicates = 0
    batch: list[BankEntry] = []
    for row in parser.rows(text, negative):
        if row.entry is not None:
            batch.append(row.entry)
        if len(batch) >= BATCH:
            result = store.add(bank, batch)
            added, duplicates = added + result.added, duplicates + result.duplicates
            batch = []
    if batch:
        result = store.add(bank, batch)
        added, duplicates = added + result.added, duplicates + result.duplicates
    return ImportReport(bank, str(path), chosen, added, duplicates, tuple(invalid))
