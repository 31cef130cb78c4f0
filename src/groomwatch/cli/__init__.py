"""The ``groomwatch`` command line (DESIGN.md, "Command-line contract").

Exit status: 0 on success, 2 on bad input or usage (a message on stderr naming the file, line or
field, no traceback), 1 on an internal error. Command modules register on :data:`app`; commands
that need an optional extra import it inside the command, so the core install works alone.
"""

from __future__ import annotations

import sys

import click
import typer
from rich.console import Console

from groomwatch.cli.app import app
from groomwatch.errors import InputError

# Command modules: importing them registers their commands on ``app``.
from groomwatch.cli import data as _data  # noqa: F401  isort: skip
from groomwatch.cli import detect as _detect  # noqa: F401  isort: skip
from groomwatch.cli import service as _service  # noqa: F401  isort: skip
from groomwatch.cli import hotline as _hotline  # noqa: F401  isort: skip
from groomwatch.cli import media as _media  # noqa: F401  isort: skip

__all__ = ["app", "main"]

_err = Console(stderr=True, highlight=False, soft_wrap=True)

# Newer typer releases carry their own copy of click, whose exceptions are not click's: catch
# both (the copy found through a public typer name), so a bad option value is a usage error (2).
_CLICKS = {click.exceptions, sys.modules[typer.BadParameter.__module__]}
_ABORT = (click.exceptions.Abort, typer.Abort)
_CLICK_ERROR = tuple(m.ClickException for m in _CLICKS)
_USAGE_ERROR = tuple(m.UsageError for m in _CLICKS)
_EXIT = (click.exceptions.Exit, typer.Exit)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``groomwatch`` console script."""
    try:
        # Without standalone mode click returns (not raises) the code of ``typer.Exit(code)``.
        result = app(args=argv, standalone_mode=False)
        if isinstance(result, int) and not isinstance(result, bool) and result != 0:
            sys.exit(result)
    except InputError as exc:
        _err.print(f"groomwatch: error: {exc}", markup=False)
        sys.exit(2)
    except _ABORT:
        _err.print("groomwatch: aborted", markup=False)
        sys.exit(130)
    except _CLICK_ERROR as exc:
        exc.show()
        sys.exit(2 if isinstance(exc, _USAGE_ERROR) else exc.exit_code)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # an internal error: say so, keep the traceback for debugging
        _err.print(f"groomwatch: internal error: {type(exc).__name__}: {exc}", markup=False)
        if "--debug" in sys.argv:
            raise
        sys.exit(1)
