"""`recovery audit`: prove the history was not edited, and replay it to any moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from recovery.cli.options import DbOption, JsonOption, PlaybooksOption, open_recovery
from recovery.cli.output import console, fail, print_json, styled
from recovery.cli.render import replayed_state
from recovery.errors import IntegrityError

app = typer.Typer(help="Verify and replay incident histories (read-only).", no_args_is_help=True)


@app.command()
def verify(
    incidents: Annotated[
        list[str] | None,
        typer.Argument(metavar="INCIDENT", help="Incident ids.", show_default=False),
    ] = None,
    all_incidents: Annotated[bool, typer.Option("--all", help="Verify every incident.")] = False,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check each incident's hash chain and that replaying it rebuilds the stored state."""
    if not incidents and not all_incidents:
        raise typer.BadParameter("name incidents, or use --all", param_hint="INCIDENT")
    with open_recovery(db, playbooks) as rec:
        if all_incidents:
            results = rec.verify_all()
        else:
            results = [rec.verify(incident_id) for incident_id in incidents or []]
    broken = [r for r in results if not r.ok]
    if json_output:
        print_json({"ok": not broken, "results": [r.to_dict() for r in results]})
    else:
        table = Table(title=f"Verified {len(results)} incident(s)")
        for column in ("incident", "result", "events", "broken at", "problem"):
            table.add_column(column)
        for r in results:
            table.add_row(
                styled(r.incident_id, "bold"),
                Text("ok", "green") if r.ok else Text("BROKEN", "bold red"),
                str(r.events),
                "-" if r.broken_seq is None else f"event #{r.broken_seq}",
                styled(r.problem or ""),
            )
        console().print(table)
    if broken:
        first = broken[0]
        where = f"event #{first.broken_seq}" if first.broken_seq is not None else "its state"
        fail(
            f"{len(broken)} of {len(results)} incident(s) do not verify; first: "
            f"{first.incident_id} at {where}: {first.problem}",
            IntegrityError.exit_code,
        )


@app.command()
def replay(
    incident: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    seq: Annotated[
        int | None, typer.Option("--seq", min=1, help="State after this event number.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="State at this moment (ISO 8601; UTC unless an offset)."),
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Rebuild the incident's state from its events, as it was at an event or a moment."""
    if seq is not None and at is not None:
        raise typer.BadParameter("give --seq or --at, not both", param_hint="--at")
    moment = _moment(at) if at is not None else None
    with open_recovery(db, playbooks) as rec:
        state = rec.replay(incident, at_seq=seq, at_time=moment)
    if json_output:
        print_json(state.to_dict())
        return
    console().print(replayed_state(state, list(state.steps)))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO time like 2026-07-04T14:30:00Z", param_hint="--at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
