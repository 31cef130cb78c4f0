"""Commands: ``media hash``, ``media match`` and ``media bank import|list|set`` (hash banks of
known material and known false positives; see ``docs/media-matching.md``).

The bank store is ``--banks DIR``, else ``GROOMWATCH_MEDIA_DIR``, else ``<data_dir>/banks``.
Hashing images needs the ``media`` extra (Pillow, pdqhash), imported inside the commands.
Output is JSON on stdout; warnings and skipped lines go to stderr. No command prints or logs the
content of a file, only its hashes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from groomwatch.cli.app import app
from groomwatch.cli.common import load_settings
from groomwatch.errors import InputError

if TYPE_CHECKING:
    from groomwatch.media.bank import BankStore
    from groomwatch.media.hashing import MediaHashes
    from groomwatch.settings import Settings

media_app = typer.Typer(
    help="Hash images and videos and match them against banks of known hashes.",
    no_args_is_help=True,
)
bank_app = typer.Typer(help="Hash banks: import, list, enable/disable, thresholds.")
media_app.add_typer(bank_app, name="bank", no_args_is_help=True)
app.add_typer(media_app, name="media")

BanksOption = Annotated[
    Path | None,
    typer.Option(
        "--banks",
        help="Directory of hash banks (default: GROOMWATCH_MEDIA_DIR, else DATA_DIR/banks).",
        file_okay=False,
    ),
]


def _store(banks: Path | None, *, create: bool = True) -> BankStore:
    from groomwatch.media.bank import BankStore

    return BankStore.open(banks or load_settings().resolved_media_dir, create=create)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _warn(message: str) -> None:
    print(f"groomwatch: {message}", file=sys.stderr)


def _read_upload(path: Path, max_bytes: int) -> bytes:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"{path}: {size:,} bytes, more than the limit of {max_bytes:,}")
    return path.read_bytes()


def _hash_file(path: Path, settings: Settings) -> MediaHashes:
    from groomwatch.media.hashing import hash_media

    data = _read_upload(path, settings.media_max_upload_bytes)
    hashes = hash_media(
        data,
        name=str(path),
        max_bytes=settings.media_max_upload_bytes,
        max_pixels=settings.media_max_image_pixels,
    )
    if hashes.kind == "other":
        raise InputError(f"{path}: not an image or video (no known image or video signature)")
    return hashes


@media_app.command("hash")
def hash_command(
    file: Annotated[Path, typer.Argument(help="An image or video.", dir_okay=False)],
    dihedral: Annotated[
        bool, typer.Option(help="Also print the PDQ of the 8 rotations and mirror images.")
    ] = False,
) -> None:
    """Print an upload's hashes as JSON: pdq, quality, md5, sha256 (pdq for images only)."""
    hashes = _hash_file(file, load_settings())
    out = hashes.to_dict()
    if not dihedral:
        out.pop("dihedral", None)
    _print_json(out)


@media_app.command("match")
def match_command(
    file: Annotated[Path, typer.Argument(help="An image or video.", dir_okay=False)],
    banks: BanksOption = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Print the whole result (classification, hashes), not only matches."
        ),
    ] = False,
    dihedral: Annotated[
        bool, typer.Option(help="Match rotated and mirrored copies (8 PDQ variants).")
    ] = True,
) -> None:
    """Match an upload against every enabled bank; print the matches as a JSON list (bank, hash,
    distance, threshold, variant, source, date, counted, explanation)."""
    from groomwatch.media.matching import Matcher

    settings = load_settings()
    hashes = _hash_file(file, settings)
    store = _store(banks)
    result = Matcher(store, min_quality=settings.media_min_quality, dihedral=dihedral).match(hashes)
    if result.pdq_refused:
        _warn(f"{file}: {result.pdq_refused}")
    if result.known_material:
        _warn(f"{file}: matches known material; do not open or show this file")
    _print_json(result.to_dict() if full else [m.to_dict() for m in result.matches])


@bank_app.command("import")
def bank_import(
    bank: Annotated[str, typer.Argument(help="Bank name (created if new).")],
    file: Annotated[Path, typer.Argument(help="Hash list: one a line, CSV, or HMA/TE export.")],
    banks: BanksOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help="auto, list, csv or te (HMA/threatexchange simple).")
    ] = "auto",
    signal_type: Annotated[
        str | None,
        typer.Option(help="pdq, md5 or sha256 when the file does not say (64 hex = pdq)."),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Where the hashes come from (default: the file name).")
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option(min=0, max=128, help="New bank: PDQ distance that still matches (31)."),
    ] = None,
    negative: Annotated[
        bool, typer.Option("--negative", help="New bank: known false positives.")
    ] = False,
    known_material: Annotated[
        bool,
        typer.Option("--known-material", help="New bank: a match is known material, never shown."),
    ] = False,
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Import the good lines; list the bad ones.")
    ] = False,
) -> None:
    """Import hashes into a bank (created if new); duplicates are ignored, bad lines reported."""
    from groomwatch.media.importing import import_file

    if fmt not in ("auto", "list", "csv", "te"):
        raise InputError(f"--format: {fmt!r} is not one of auto, list, csv, te")
    store = _store(banks)
    create: dict[str, Any] = {"negative": negative, "known_material": known_material}
    if threshold is not None:
        create["threshold"] = threshold
    if store.exists(bank):
        current = store.get(bank)
        for key, value in create.items():
            given = key != "threshold" and value
            if (given or key == "threshold") and getattr(current, key) != value:
                option = "--" + key.replace("_", "-")
                raise InputError(
                    f"bank {bank!r} exists with {key}={getattr(current, key)}; {option} applies "
                    f"to new banks (change it with: groomwatch media bank set {bank} ...)"
                )
    report = import_file(
        store,
        bank,
        file,
        fmt=fmt,  # type: ignore[arg-type]
        signal=signal_type,
        source=source,
        skip_invalid=skip_invalid,
        create=create,
    )
    for bad in report.invalid:
        _warn(f"{file}, line {bad.line}: {bad.reason} (skipped)")
    _print_json(report.to_dict())


@bank_app.command("list")
def bank_list(
    banks: BanksOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List the banks: enabled, threshold, negative, known material, hash counts."""
    store = _store(banks)
    infos = [store.info(n) for n in store.names()]
    if as_json:
        _print_json([i.to_dict() for i in infos])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("bank", "enabled", "threshold", "kind", "pdq", "md5", "sha256")
    for info in infos:
        b = info.bank
        kind = "negative" if b.negative else "known material" if b.known_material else "positive"
        table.add_row(
            b.name,
            "yes" if b.enabled else "no",
            str(b.threshold),
            kind,
            *(f"{info.counts.get(s, 0):,}" for s in ("pdq", "md5", "sha256")),
        )
    Console(highlight=False).print(table)


@bank_app.command("set")
def bank_set(
    bank: Annotated[str, typer.Argument(help="Bank name.")],
    banks: BanksOption = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Match against it or skip it.")
    ] = None,
    threshold: Annotated[
        int | None, typer.Option(min=0, max=128, help="Largest PDQ distance that matches.")
    ] = None,
    known_material: Annotated[
        bool | None, typer.Option("--known-material/--not-known-material")
    ] = None,
    suppresses: Annotated[
        list[str] | None,
        typer.Option(help="Negative bank: a bank it suppresses (repeat; none = all banks)."),
    ] = None,
    description: Annotated[str | None, typer.Option(help="A note on the bank.")] = None,
) -> None:
    """Change a bank's settings (takes effect at once; no index is rebuilt)."""
    store = _store(banks, create=False)
    changes: dict[str, Any] = {
        k: v
        for k, v in (
            ("enabled", enabled),
            ("threshold", threshold),
            ("known_material", known_material),
            ("description", description),
        )
        if v is not None
    }
    if suppresses is not None:
        changes["suppresses"] = tuple(suppresses)
    if not changes:
        raise InputError("nothing to change: give --enabled/--disabled, --threshold, ...")
    updated = store.update(bank, **changes)
    _print_json(store.info(updated.name).to_dict())
