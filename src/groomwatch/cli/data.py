"""Commands on chat data: ``inspect``, ``convert`` and ``verify-pan12``."""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import pydantic
import typer
from rich.console import Console
from rich.table import Table

from groomwatch.cli.app import app
from groomwatch.conversation import Conversation
from groomwatch.errors import InputError
from groomwatch.formats import FORMATS, WRITERS, ReadOptions, ReadReport, read_conversations
from groomwatch.formats.jsonl import write_jsonl

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        help=f"input format: auto, {', '.join(FORMATS.names())}",
        show_default=True,
    ),
]
SkipOption = Annotated[
    bool,
    typer.Option(
        "--skip-invalid", help="leave bad records out (and list them) instead of stopping"
    ),
]
TextColumn = Annotated[str | None, typer.Option(help="CSV: column holding the text")]
LabelColumn = Annotated[str | None, typer.Option(help="CSV: column holding a 0/1 label")]
ConversationColumn = Annotated[
    str | None, typer.Option(help="CSV: column holding the conversation id")
]
AuthorColumn = Annotated[str | None, typer.Option(help="CSV: column holding the author")]
TimeColumn = Annotated[str | None, typer.Option(help="CSV: column holding the time")]
Delimiter = Annotated[str | None, typer.Option(help="CSV: delimiter (sniffed when unset)")]
DateOrderOption = Annotated[
    str | None,
    typer.Option(help="WhatsApp/CSV dates: dmy, mdy or ymd (inferred when unset)"),
]


def read_options(
    text_column: str | None = None,
    label_column: str | None = None,
    conversation_column: str | None = None,
    author_column: str | None = None,
    time_column: str | None = None,
    delimiter: str | None = None,
    date_order: str | None = None,
) -> ReadOptions:
    """:class:`ReadOptions` from command-line values; a bad value is an :class:`InputError`
    naming the option."""
    values = {
        "text_column": text_column,
        "label_column": label_column,
        "conversation_column": conversation_column,
        "author_column": author_column,
        "time_column": time_column,
        "delimiter": "\t" if delimiter in ("\\t", "tab") else delimiter,
        "date_order": date_order,
    }
    try:
        return ReadOptions.model_validate({k: v for k, v in values.items() if v is not None})
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(problems) from None


def _progress() -> bool:
    return sys.stderr.isatty()


def _say_skipped(report: ReadReport, limit: int = 20) -> None:
    for entry in report.skipped[:limit]:
        _err.print(f"skipped: {entry}", markup=False)
    if len(report.skipped) > limit:
        _err.print(f"… and {len(report.skipped) - limit} more", markup=False)
    if report.skipped:
        _err.print(f"groomwatch: skipped {len(report.skipped)} invalid record(s)", markup=False)
    for entry in report.skipped_files:
        _err.print(f"not read: {entry}", markup=False)
    for note in report.notes:
        _err.print(f"note: {note}", markup=False)


@app.command()
def inspect(
    input: Annotated[Path, typer.Argument(help="a chat file, or a folder of them")],
    format: FormatOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for machines")] = False,
    skip_invalid: SkipOption = False,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    conversation_column: ConversationColumn = None,
    author_column: AuthorColumn = None,
    time_column: TimeColumn = None,
    delimiter: Delimiter = None,
    date_order: DateOrderOption = None,
) -> None:
    """Count conversations, messages and participants; show the time span, labels, formats."""
    options = read_options(
        text_column, label_column, conversation_column, author_column, time_column, delimiter,
        date_order,
    )  # fmt: skip
    report = ReadReport()
    stats = Inventory()
    for conv in read_conversations(
        input,
        format,
        skip_invalid=skip_invalid,
        options=options,
        report=report,
        progress=_progress(),
    ):
        stats.add(conv)
    summary = stats.to_dict()
    summary["input"] = str(input)
    summary.update(report.to_dict())
    if as_json:
        _out.print(json.dumps(summary, ensure_ascii=False, indent=2), markup=False)
        return
    _say_skipped(report)
    table = Table(title=f"groomwatch inspect {input}", show_header=False)
    table.add_column("what", style="bold")
    table.add_column("value")
    rows: list[tuple[str, Any]] = [
        ("files", ", ".join(f"{Path(f).name} ({fmt})" for f, fmt in summary["files"].items())),
        ("conversations", f"{summary['conversations']:,}"),
        ("messages", f"{summary['messages']:,}"),
        ("participants", f"{summary['participants']:,}"),
        ("messages per conversation", _range(summary["messages_per_conversation"])),
        ("time span", _span(summary["time_span"])),
        ("labels", _counts(summary["labels"])),
        ("platforms", _counts(summary["platforms"])),
        ("languages", _counts(summary["languages"]) or "not known"),
        ("system lines dropped", str(summary["system_lines"])),
        ("invalid records skipped", str(len(summary["skipped"]))),
    ]
    for what, value in rows:
        table.add_row(what, str(value))
    _out.print(table)


@app.command()
def convert(
    input: Annotated[Path, typer.Argument(help="a chat file, or a folder of them")],
    output: Annotated[str, typer.Argument(help="OUT.jsonl (canonical), or - for stdout")],
    format: FormatOption = "auto",
    skip_invalid: SkipOption = False,
    text_column: TextColumn = None,
    label_column: LabelColumn = None,
    conversation_column: ConversationColumn = None,
    author_column: AuthorColumn = None,
    time_column: TimeColumn = None,
    delimiter: Delimiter = None,
    date_order: DateOrderOption = None,
) -> None:
    """Convert chats to canonical JSONL (the output's extension picks the writer)."""
    options = read_options(
        text_column, label_column, conversation_column, author_column, time_column, delimiter,
        date_order,
    )  # fmt: skip
    if output != "-":
        suffix = Path(output).suffix.lower()
        if suffix not in WRITERS:
            raise InputError(
                f"{output}: cannot write {suffix or 'a file without extension'}; "
                f"write one of {', '.join(WRITERS)} (or - for JSONL on stdout)"
            )
    report = ReadReport()
    conversations = read_conversations(
        input,
        format,
        skip_invalid=skip_invalid,
        options=options,
        report=report,
        progress=_progress(),
    )
    if output == "-":
        n = write_jsonl(conversations, sys.stdout)
    else:
        n = _write_atomically(conversations, Path(output))
    _say_skipped(report)
    _err.print(
        f"groomwatch: wrote {n} conversation(s) to {output}"
        + (f"; {report.system_lines} system line(s) dropped" if report.system_lines else ""),
        markup=False,
    )


def _write_atomically(conversations: Iterable[Conversation], output: Path) -> int:
    """Write to a temporary file beside OUTPUT and move it into place only when every input
    record has been read, so a failed conversion leaves no half-written file."""
    folder = output.parent if str(output.parent) else Path()
    if not folder.is_dir():
        raise InputError(f"{output}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            n = write_jsonl(conversations, f)
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


@app.command("verify-pan12")
def verify_pan12(
    path: Annotated[Path, typer.Argument(help="the PAN 2012 corpus folder, or one of its files")],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for machines")] = False,
) -> None:
    """Check the official PAN 2012 files against their published SHA-256 sums."""
    from groomwatch.formats.pan12 import verify_official_files

    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = verify_official_files(path, warn=False)
    if as_json:
        _out.print(json.dumps([r.to_dict() for r in results], indent=2), markup=False)
    else:
        if not results:
            _err.print(f"{path}: no file with an official PAN 2012 name found", markup=False)
        for r in results:
            if r.ok:
                _out.print(f"OK        {r.path}", markup=False)
            elif r.ok_after_dos2unix:
                _out.print(f"CRLF      {r.path}: official after dos2unix; run it", markup=False)
            else:
                _out.print(
                    f"MISMATCH  {r.path}: sha256 {r.actual}, official {r.expected}; "
                    "not the official file, results are not comparable with PAN 2012's",
                    markup=False,
                )
    if not results or not all(r.ok for r in results):
        raise typer.Exit(1)


class Inventory:
    """Counts for ``inspect``, built in one streaming pass (memory: the distinct authors)."""

    def __init__(self) -> None:
        self.conversations = 0
        self.messages = 0
        self.authors: set[str] = set()
        self.labels: Counter[str] = Counter()
        self.platforms: Counter[str] = Counter()
        self.languages: Counter[str] = Counter()
        self.shortest: int | None = None
        self.longest = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.times_of_day = 0

    def add(self, conv: Conversation) -> None:
        self.conversations += 1
        n = len(conv.messages)
        self.messages += n
        self.shortest = n if self.shortest is None else min(self.shortest, n)
        self.longest = max(self.longest, n)
        self.labels["unknown" if conv.label is None else str(conv.label)] += 1
        self.platforms[conv.platform or "unknown"] += 1
        language = conv.meta.get("language") or conv.meta.get("lang")
        if isinstance(language, str):
            self.languages[language] += 1
        for m in conv.messages:
            if m.author is not None:
                self.authors.add(m.author)
        for p in conv.participants:
            self.authors.add(p.id)
        for m in (conv.messages[0], conv.messages[-1]) if conv.messages else ():
            self._time(m.time)

    def _time(self, value: str | None) -> None:
        if not value:
            return
        if len(value) <= 8 and ":" in value:
            self.times_of_day += 1
            return
        try:
            when = datetime.fromisoformat(value)
        except ValueError:
            return
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversations": self.conversations,
            "messages": self.messages,
            "participants": len(self.authors),
            "messages_per_conversation": {
                "min": self.shortest or 0,
                "max": self.longest,
                "mean": round(self.messages / self.conversations, 2) if self.conversations else 0,
            },
            "time_span": {
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "times_of_day_only": self.times_of_day > 0 and self.first is None,
            },
            "labels": dict(self.labels),
            "platforms": dict(self.platforms),
            "languages": dict(self.languages),
        }


def _range(d: dict[str, Any]) -> str:
    return f"{d['min']}–{d['max']} (mean {d['mean']})"


def _span(d: dict[str, Any]) -> str:
    if d["first"] is None:
        return "times of day only (no dates)" if d["times_of_day_only"] else "no times"
    return f"{d['first']} to {d['last']}"


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(d.items()))
