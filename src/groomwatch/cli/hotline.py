"""Commands of the hotline: ``users create``, ``audit verify``, ``retention apply``.

They use the database of ``GROOMWATCH_DATABASE_URL`` (a SQLite file in ``GROOMWATCH_DATA_DIR`` by
default), brought to the newest schema first, and need the ``server`` extra.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from groomwatch.cli.app import app
from groomwatch.cli.common import database_session, load_settings

if TYPE_CHECKING:
    pass

users_app = typer.Typer(help="Hotline accounts (analyst, supervisor, admin).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
retention_app = typer.Typer(
    help="Deleting expired evidence and personal data.", no_args_is_help=True
)
app.add_typer(users_app, name="users")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="The user's e-mail address (their login).")],
    role: Annotated[str, typer.Option(help="analyst, supervisor or admin.")] = "analyst",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create a hotline account. The password is read from standard input (--password-stdin) or
    asked for without echo; it is stored only as an argon2id hash."""
    from groomwatch.hotline.users import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    with database_session(settings) as session:
        user = create_user(session, email, password, role, actor="cli")
        session.commit()
        typer.echo(f"created {user.role} {user.email} (id {user.id})")


@users_app.command("list")
def users_list() -> None:
    """The accounts, their roles and whether they are locked."""
    from groomwatch.hotline.users import list_users

    with database_session(load_settings()) as session:
        for user in list_users(session):
            state = "active" if user.active else "disabled"
            typer.echo(f"{user.id}\t{user.email}\t{user.role}\t{state}")


@audit_app.command("verify")
def audit_verify(
    expect_head: Annotated[
        str | None,
        typer.Option(
            help="The head hash printed by an earlier run: detects entries removed at the end."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Check the audit log's hash chain. Exit status 1 naming the first bad entry if any entry
    was edited, deleted or reordered."""
    from groomwatch.hotline.audit import verify

    with database_session(load_settings()) as session:
        result = verify(session, expect_head=expect_head)
    if as_json:
        typer.echo(json.dumps(result.to_dict()))
    elif result.ok:
        typer.echo(f"audit log intact: {result.entries} entries, head {result.head}")
    else:
        typer.echo(
            f"audit log BROKEN at entry {result.first_bad}: {result.problem} "
            f"({result.entries} entries read)",
            err=True,
        )
    if not result.ok:
        raise typer.Exit(1)


@retention_app.command("apply")
def retention_apply(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be deleted; delete nothing.")
    ] = False,
) -> None:
    """Delete the evidence files and personal data of reports past their category's retention
    period (GROOMWATCH_RETENTION_DAYS); every deletion is audit-logged."""
    from groomwatch.hotline import retention
    from groomwatch.hotline.evidence import EvidenceStore

    settings = load_settings()
    with database_session(settings) as session:
        result = retention.apply(
            session,
            EvidenceStore.for_data_dir(settings.data_dir),
            settings.retention_days,
            dry_run=dry_run,
            actor="cli",
        )
        session.commit()
    verb = "would erase" if dry_run else "erased"
    typer.echo(f"{verb} {len(result.reports)} report(s); {result.files_deleted} file(s) deleted")
    for reference in result.reports:
        typer.echo(reference)
