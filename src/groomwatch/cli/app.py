"""The typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="groomwatch",
    help="Early warning of online grooming and sexual extortion of children in chat.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
