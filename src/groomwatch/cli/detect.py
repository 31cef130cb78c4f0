"""Commands of the detection engine: ``scan``, ``evaluate`` and ``train``."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from groomwatch.cli.app import app
from groomwatch.cli.data import (
    AuthorColumn,
    ConversationColumn,
    Delimiter,
    FormatOption,
    LabelColumn,
    SkipOption,
    TimeColumn,
    read_options,
)
from groomwatch.cli.data import TextColumn as TextColumnOption
from groomwatch.errors import InputError, ModelError

if TYPE_CHECKING:
    from groomwatch.conversation import Conversation
    from groomwatch.detect import AlertPolicy, Assessment, Detector
    from groomwatch.detect.parallel import ScannedRange
    from groomwatch.formats import ReadOptions

_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

ModelOption = Annotated[
    Path | None, typer.Option("--model", help="a trained model folder (default: the shipped one)")
]
CuesOption = Annotated[
    Path | None, typer.Option("--cues", help="a YAML file overriding the packaged tactic cues")
]
ThresholdOption = Annotated[
    float | None, typer.Option("--threshold", help="risk threshold in [0, 1] (default: model's)")
]


def load_detector(model: Path | None, cues: Path | None) -> Detector:
    """The detector, turning a missing or broken model or cues file into bad input."""
    from groomwatch.detect import Detector

    if model is not None and not model.is_dir():
        raise InputError(f"--model {model}: not a folder")
    if cues is not None and not cues.is_file():
        raise InputError(f"--cues {cues}: no such file")
    try:
        return Detector.load(model, cues)
    except ModelError as exc:
        raise InputError(f"--model: {exc}") from None


def policy_for(detector: Detector, threshold: float | None) -> AlertPolicy:
    if threshold is None:
        return detector.default_policy
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"--threshold must be between 0 and 1, not {threshold}")
    return detector.default_policy.with_threshold(threshold)


@contextmanager
def _progress(console: Console, what: str) -> Iterator[Any]:
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} " + what),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        yield progress


@contextmanager
def _output(path: str) -> Iterator[IO[str]]:
    if path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path)
    if target.parent and not target.parent.is_dir():
        raise InputError(f"--output {path}: folder {target.parent} does not exist")
    with target.open("w", encoding="utf-8") as fh:
        yield fh


@app.command()
def scan(
    input: Annotated[Path, typer.Argument(help="a chat file or a folder of them")],
    format: FormatOption = "auto",
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="JSON lines out, one per conversation; - for stdout"),
    ] = "-",
    report: Annotated[
        Path | None, typer.Option("--report", help="write a self-contained HTML report here")
    ] = None,
    threshold: ThresholdOption = None,
    engine: Annotated[str, typer.Option("--engine", help="local or dask")] = "local",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="dask scheduler address (engine dask)")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            help="processes scoring in parallel (engine local; default: all cores for inputs "
            "of 8 MB or more, else 1)",
        ),
    ] = None,
    model: ModelOption = None,
    cues: CuesOption = None,
    skip_invalid: SkipOption = False,
    audience: Annotated[
        str,
        typer.Option("--audience", help="next steps in the report for: parent, platform, hotline"),
    ] = "platform",
    text_column: TextColumnOption = None,
    label_column: LabelColumn = None,
    conversation_column: ConversationColumn = None,
    author_column: AuthorColumn = None,
    time_column: TimeColumn = None,
    delimiter: Delimiter = None,
) -> None:
    """Score every conversation: one JSON object per conversation, in input order."""
    from groomwatch.formats import ReadReport, read_conversations

    if engine not in ("local", "dask"):
        raise InputError(f"--engine must be local or dask, not {engine!r}")
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be 1 or more, not {workers}")
    if audience not in ("parent", "platform", "hotline"):
        raise InputError(f"--audience must be parent, platform or hotline, not {audience!r}")
    if not input.exists():
        raise InputError(f"{input}: no such file or folder")
    detector = load_detector(model, cues)
    policy = policy_for(detector, threshold)
    options = read_options(
        text_column, label_column, conversation_column, author_column, time_column, delimiter
    )
    read_report = ReadReport()
    parts: Iterator[ScannedRange]
    if engine == "local":
        from groomwatch.detect.parallel import LARGE_INPUT_BYTES, default_workers

        if workers is None:
            workers = default_workers() if _input_bytes(input) >= LARGE_INPUT_BYTES else 1
    several = engine == "local" and workers is not None and workers > 1
    if several and _splittable(input, format, options):
        from groomwatch.detect.parallel import scan_jsonl

        # The workers read, parse and validate the file themselves, a range of lines each.
        parts = scan_jsonl(
            input,
            model_path=model,
            cues_path=cues,
            policy=policy,
            workers=workers,
            skip_invalid=skip_invalid,
            options=options,
            keep_conversations=report is not None,
        )
    else:
        convs = read_conversations(
            input, format, skip_invalid=skip_invalid, options=options, report=read_report
        )
        parts = _one_by_one(
            _assess(convs, engine, workers, detector, policy, model, cues, scheduler),
            keep=report is not None,
        )
    console = _err if output == "-" else _out
    n = n_flagged = n_warned = n_messages = 0
    top: list[tuple[float, Assessment]] = []
    kept: list[tuple[Conversation, Assessment]] = []
    with _output(output) as fh, _progress(_err, "conversations") as progress:
        task = progress.add_task("scanning", total=None)
        for part in parts:
            fh.write(part.records)
            n += part.conversations
            n_messages += part.messages
            for a in part.alerts:
                n_flagged += int(a.flagged)
                n_warned += int(a.first_alert is not None)
                top.append((a.risk, a))
            if report is not None:
                kept.extend(zip(part.alert_conversations, part.alerts, strict=True))
            read_report.skipped.extend(part.skipped)
            progress.update(task, advance=part.conversations)
        fh.flush()
    for skipped in read_report.skipped:
        _err.print(f"skipped: {skipped.path}, line {skipped.line}: {skipped.reason}", markup=False)
    _summary(console, n, n_messages, n_flagged, n_warned, top, policy)
    if report is not None:
        from groomwatch.detect.report import render_report

        report.write_text(
            render_report(
                detector,
                kept,
                policy.threshold,
                window=policy.window,
                min_messages=policy.min_messages,
                n_scanned=n,
                audience=audience,
            ),
            encoding="utf-8",
        )
        console.print(f"report: {report}", markup=False)


def _assess(
    convs: Iterator[Conversation],
    engine: str,
    workers: int | None,
    detector: Detector,
    policy: AlertPolicy,
    model: Path | None,
    cues: Path | None,
    scheduler: str | None,
) -> Iterator[tuple[Conversation, Assessment]]:
    """Each conversation read with its assessment, by the engine asked for."""
    held: deque[Conversation] = deque()

    def remember(items: Iterator[Conversation]) -> Iterator[Conversation]:
        for c in items:
            held.append(c)
            yield c

    results: Iterator[Assessment]
    if engine == "dask":
        try:
            from groomwatch.scale import scan_with_dask
        except ImportError:
            raise InputError(
                "--engine dask needs the scale extra: pip install 'groomwatch[scale]'"
            ) from None
        results = scan_with_dask(
            remember(convs),
            model_path=model,
            cues_path=cues,
            policy=policy,
            scheduler=scheduler,
        )
    elif workers is not None and workers > 1:
        from groomwatch.detect.parallel import assess_parallel

        results = assess_parallel(
            remember(convs), model_path=model, cues_path=cues, policy=policy, workers=workers
        )
    else:
        results = detector.assess_many(remember(convs), policy)
    return ((held.popleft(), a) for a in results)


def _one_by_one(
    pairs: Iterator[tuple[Conversation, Assessment]], *, keep: bool
) -> Iterator[ScannedRange]:
    """Assessments as the parts the scan writes, one conversation each."""
    from groomwatch.detect.parallel import ScannedRange, scan_line

    for conv, a in pairs:
        alert = a.flagged or a.first_alert is not None
        yield ScannedRange(
            records=scan_line(a),
            conversations=1,
            messages=len(conv.messages),
            alerts=(a,) if alert else (),
            alert_conversations=(conv,) if alert and keep else (),
        )


def _splittable(path: Path, format: str, options: ReadOptions) -> bool:
    """Whether ``path`` is one canonical JSONL file that the scan's workers may read in ranges
    (:func:`groomwatch.detect.parallel.scan_jsonl`): a file, not a ZIP archive, in the format
    asked for or detected as JSONL, in a byte encoding. Anything else is read here."""
    from groomwatch.errors import FormatError
    from groomwatch.formats import detect_format
    from groomwatch.formats.archive import is_zip
    from groomwatch.formats.base import Source
    from groomwatch.formats.jsonl import splittable

    if format not in ("auto", "jsonl") or not path.is_file():
        return False
    try:
        if is_zip(Source(path=path).head()):
            return False
        if format == "auto" and detect_format(path) != "jsonl":
            return False
    except FormatError:
        return False  # the reader says why
    return splittable(path, options)


def _input_bytes(path: Path) -> int:
    """Size of a chat file, or of all the files in a folder: how large a scan will be."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _summary(
    console: Console,
    n: int,
    n_messages: int,
    n_flagged: int,
    n_warned: int,
    top: list[tuple[float, Assessment]],
    policy: AlertPolicy,
) -> None:
    table = Table(title="groomwatch scan", title_justify="left")
    table.add_column("conversation")
    table.add_column("risk", justify="right")
    table.add_column("warning at", justify="right")
    table.add_column("suspect")
    table.add_column("tactics")
    for risk, a in sorted(top, key=lambda t: -t[0])[:15]:
        tactics = sorted({f.tactic for f in a.findings})
        table.add_row(
            a.id,
            f"{risk:.3f}",
            "" if a.first_alert is None else str(a.first_alert),
            a.suspect or "",
            ", ".join(tactics[:4]) + (" ..." if len(tactics) > 4 else ""),
        )
    console.print(
        f"{n} conversations, {n_messages} messages; {n_flagged} flagged (risk >= "
        f"{policy.threshold:.3f}), {n_warned} with an early warning",
        markup=False,
    )
    if top:
        console.print(table)


@app.command()
def evaluate(
    labeled_input: Annotated[Path, typer.Argument(help="labelled conversations (or PAN 2012)")],
    format: FormatOption = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON")] = False,
    model: ModelOption = None,
    cues: CuesOption = None,
    threshold: ThresholdOption = None,
    curves: Annotated[
        Path | None, typer.Option("--curves", help="write pr_curve.png and latency_curve.png here")
    ] = None,
    pan12_truth: Annotated[
        Path | None,
        typer.Option("--pan12-truth", help="folder with PAN 2012 ground truth (problems 1 and 2)"),
    ] = None,
    skip_invalid: SkipOption = False,
    text_column: TextColumnOption = None,
    label_column: LabelColumn = None,
    conversation_column: ConversationColumn = None,
    author_column: AuthorColumn = None,
    time_column: TimeColumn = None,
    delimiter: Delimiter = None,
) -> None:
    """Precision, recall, F1, F0.5, FPR, early-detection and PAN 2012 metrics."""
    from groomwatch.detect.evaluation import Pan12Truth, evaluate, summary_rows, write_curves
    from groomwatch.formats import read_conversations

    if not labeled_input.exists():
        raise InputError(f"{labeled_input}: no such file or folder")
    truth = Pan12Truth.load(pan12_truth) if pan12_truth is not None else None
    detector = load_detector(model, cues)
    policy = policy_for(detector, threshold)
    options = read_options(
        text_column, label_column, conversation_column, author_column, time_column, delimiter
    )
    convs = read_conversations(labeled_input, format, skip_invalid=skip_invalid, options=options)
    with _progress(_err, "conversations") as progress:
        task = progress.add_task("evaluating", total=None)
        result = evaluate(
            detector, convs, policy, truth, progress=lambda k: progress.update(task, completed=k)
        )
    if curves is not None:
        for path in write_curves(result, curves):
            _err.print(f"curve: {path}", markup=False)
    if as_json:
        _out.print(json.dumps(result.metrics, indent=2), markup=False)
        return
    table = Table(title=f"groomwatch evaluate {labeled_input.name}", title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in summary_rows(result.metrics):
        table.add_row(name, value)
    _out.print(table)


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="labelled conversations to train on")],
    output: Annotated[Path, typer.Option("--output", help="model folder to write")],
    format: FormatOption = "auto",
    folds: Annotated[int, typer.Option("--folds", help="cross-validation folds", min=2)] = 5,
    seed: Annotated[int, typer.Option("--seed", help="random seed")] = 0,
    c: Annotated[float, typer.Option("--C", help="inverse regularisation strength")] = 100.0,
    everyday: Annotated[
        int | None,
        typer.Option(
            "--everyday-negatives",
            help="generated ordinary chats added to training as negatives (default: the "
            "shipped model's number; 0: none)",
            min=0,
        ),
    ] = None,
    everyday_weight: Annotated[
        float,
        typer.Option(
            "--everyday-weight",
            help="sample weight of each generated ordinary chat relative to a given "
            "conversation (1: as much)",
            min=0.0,
        ),
    ] = 1.0,
    cues: CuesOption = None,
    skip_invalid: SkipOption = False,
    text_column: TextColumnOption = None,
    label_column: LabelColumn = None,
    conversation_column: ConversationColumn = None,
    author_column: AuthorColumn = None,
    time_column: TimeColumn = None,
    delimiter: Delimiter = None,
) -> None:
    """Train, cross-validate and write a model folder with its model card."""
    from groomwatch.detect.detector import tactic_registry
    from groomwatch.detect.modelcard import render_model_card
    from groomwatch.detect.training import TrainConfig, cross_validate
    from groomwatch.formats import read_conversations

    if not data.exists():
        raise InputError(f"--data {data}: no such file or folder")
    if c <= 0:
        raise InputError(f"--C must be positive, not {c}")
    options = read_options(
        text_column, label_column, conversation_column, author_column, time_column, delimiter
    )
    convs = list(read_conversations(data, format, skip_invalid=skip_invalid, options=options))
    registry = tactic_registry(cues)
    config = TrainConfig(folds=folds, seed=seed, C=c, everyday_weight=everyday_weight)
    if everyday is not None:
        config = dataclasses.replace(config, everyday_negatives=everyday)
    with _progress(_err, "") as progress:
        task = progress.add_task("training", total=1.0)

        def say(step: str, frac: float) -> None:
            progress.update(task, description=step, completed=frac)

        model, _cv = cross_validate(convs, registry, config, progress=say)
    model.save(output)
    n_pos = sum(1 for c_ in convs if c_.label == 1)
    description = (
        f"`{data.name}`: {len(convs)} conversations, {n_pos} positive. See "
        "`docs/research.md` for the corpus and its origin."
    )
    (output / "MODEL_CARD.md").write_text(render_model_card(model, description), encoding="utf-8")
    cv = model.metrics["cross_validation"]
    _out.print(
        f"model written to {output}: CV F1 {cv['whole']['f1']:.3f}, FPR {cv['whole']['fpr']:.4f}, "
        f"F1 at 10 % {cv['prefix_10']['f1']:.3f}, at 25 % {cv['prefix_25']['f1']:.3f}, "
        f"latency-weighted F1 {cv['latency']['f_latency']:.3f}",
        markup=False,
    )
    checks = model.metrics["synthetic_checks"]
    _out.print(
        "warned on the check sets: "
        + "; ".join(
            f"{name.replace('_', ' ')} {c_['warned']} of {c_['conversations']}"
            for name, c_ in checks.items()
        ),
        markup=False,
    )
