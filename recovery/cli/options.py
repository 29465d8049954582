"""Options shared by the CLI commands, and the engine each command opens and closes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from recovery.bootstrap import connect
from recovery.catalog import Catalog
from recovery.cli.output import console, print_json, remember_json
from recovery.cli.render import outcome_line
from recovery.config import Settings
from recovery.domain.commands import Actor
from recovery.errors import CommandRejectedError
from recovery.service.engine import Outcome, Recovery

# the incident a command acts on, as every incident command names it
IncidentId = Annotated[str, typer.Argument(metavar="ID", help="The incident id (inc_...).")]

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///file.db or postgresql://...). "
        "Default: $RECOVERY_DB, else sqlite:///recovery.db.",
        show_default=False,
    ),
]
PlaybooksOption = Annotated[
    Path | None,
    typer.Option(
        "--playbooks",
        help="Folder of playbook files. Default: $RECOVERY_PLAYBOOKS, else the shipped ones.",
        show_default=False,
        file_okay=False,
    ),
]
JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print machine-readable JSON.", callback=remember_json),
]
ActorOption = Annotated[str, typer.Option("--actor", help="Who acts (a user id).")]
RoleOption = Annotated[
    str, typer.Option("--role", help="The actor's role: front_desk, manager, ...")
]
ChannelOption = Annotated[
    str, typer.Option("--channel", help="Channel used: desk, phone, email, web, cli, ...")
]
ExpectVersionOption = Annotated[
    int | None,
    typer.Option(
        "--expect-version",
        help="Refuse the command if the incident is no longer at this version.",
        show_default=False,
    ),
]

DEFAULT_ACTOR = "cli"
DEFAULT_ROLE = "front_desk"
DEFAULT_CHANNEL = "cli"


def settings() -> Settings:
    """The settings; a bad one is a ConfigurationError (one line, its exit code)."""
    return Settings.from_env()


def parse_moment(value: str | None, option: str) -> datetime | None:
    """An option's ISO date or time (UTC when it names no zone), or None when not given."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandRejectedError(
            f"--{option} must be a date or time like 2026-07-01T00:00Z, not {value!r}",
            field=option,
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def db_url(db: str | None) -> str:
    return db or settings().db_url


def load_catalog(playbooks: Path | None) -> Catalog:
    return Catalog.from_directory(playbooks or settings().playbook_dir)


@contextmanager
def open_recovery(db: str | None, playbooks: Path | None = None) -> Iterator[Recovery]:
    """The engine for one command (the database is created and migrated on first use)."""
    rec = connect(db_url(db), playbooks=load_catalog(playbooks), settings=settings())
    try:
        yield rec
    finally:
        rec.dispose()


def actor(actor_id: str, role: str) -> Actor:
    return Actor(id=actor_id, role=role)


def command_options(
    actor_id: str, role: str, channel: str, expect_version: int | None
) -> dict[str, Any]:
    """The keyword arguments every command takes: who, through which channel, at which
    version."""
    return {
        "actor": actor(actor_id, role),
        "channel": channel,
        "expected_version": expect_version,
    }


def run_command(
    db: str | None,
    playbooks: Path | None,
    json_output: bool,
    command: Callable[[Recovery], Outcome],
) -> None:
    """Run one command on the engine and print its outcome (JSON, or one line)."""
    with open_recovery(db, playbooks) as rec:
        outcome = command(rec)
        compiled = rec.playbook_of(outcome.incident.state)
    if json_output:
        print_json(outcome.to_dict())
    else:
        console().print(outcome_line(outcome, compiled))
