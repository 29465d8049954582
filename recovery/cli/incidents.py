"""`recovery incident`: open, show, list and follow incidents (actions are in `actions`)."""

from __future__ import annotations

from typing import Annotated

import typer

from recovery.cli import actions
from recovery.cli.options import (
    DEFAULT_ACTOR,
    DEFAULT_CHANNEL,
    DEFAULT_ROLE,
    ActorOption,
    ChannelOption,
    DbOption,
    IncidentId,
    JsonOption,
    PlaybooksOption,
    RoleOption,
    actor,
    open_recovery,
)
from recovery.cli.output import console, print_json
from recovery.cli.render import incident_view, incidents_table, outcome_line, timeline_table
from recovery.domain.commands import OpenIncident

app = typer.Typer(help="Open, follow and act on incidents.", no_args_is_help=True)


@app.command("open")
def open_incident(
    incident_type: Annotated[
        str, typer.Option("--type", help="Incident type, e.g. hotel.walked_guest.")
    ],
    site: Annotated[str, typer.Option("--site", help="Where it happened, e.g. ribe-central.")],
    customer: Annotated[str, typer.Option("--customer", help="The customer's name.")],
    member_since: Annotated[
        str | None, typer.Option("--member-since", help="Customer since (YYYY-MM-DD).")
    ] = None,
    contact: Annotated[
        str | None, typer.Option("--contact", help="E-mail, phone or address.")
    ] = None,
    customer_key: Annotated[
        str | None,
        typer.Option("--customer-key", help="The back office's customer number (links incidents)."),
    ] = None,
    order_value: Annotated[
        float | None, typer.Option("--order-value", help="Business at stake.")
    ] = None,
    segment: Annotated[str | None, typer.Option("--segment", help="Customer segment.")] = None,
    language: Annotated[
        str | None,
        typer.Option("--language", help="The customer's language (en, da, id): letters, page."),
    ] = None,
    cues: Annotated[
        list[str] | None,
        typer.Option("--cue", help="A dissatisfaction cue heard (repeatable): upset, ..."),
    ] = None,
    summary: Annotated[
        str | None, typer.Option("--summary", help="What went wrong, in a sentence.")
    ] = None,
    customer_summary: Annotated[
        str | None,
        typer.Option("--customer-summary", help="What the customer may read (letters quote it)."),
    ] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Who owns it (default: the actor).")
    ] = None,
    playbook: Annotated[
        str | None, typer.Option("--playbook", help="A playbook id, when several fit the type.")
    ] = None,
    external_ref: Annotated[
        str | None,
        typer.Option("--ref", help="Reservation, account or case number (searchable)."),
    ] = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Open an incident: every step of its playbook opens at once, each with a deadline."""
    customer_data = {
        "name": customer,
        "member_since": member_since,
        "contact": contact,
        "key": customer_key,
        "order_value": order_value,
        "segment": segment,
        "language": language,
    }
    command = OpenIncident.model_validate(
        {
            "incident_type": incident_type,
            "site": site,
            "customer": {k: v for k, v in customer_data.items() if v is not None},
            "cues": cues or [],
            "summary": summary,
            "customer_summary": customer_summary,
            "owner": owner,
            "playbook": playbook,
            "external_ref": external_ref,
        }
    )
    who = actor(actor_id, role)
    with open_recovery(db, playbooks) as rec:
        outcome = rec.open(command, actor=who, channel=channel)
        compiled = rec.playbook_of(outcome.incident.state)
    if json_output:
        print_json(outcome.to_dict())
        return
    out = console()
    out.print(outcome_line(outcome, compiled))
    out.print(incident_view(outcome.incident))


@app.command()
def show(
    incident_id: IncidentId,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """State, steps with status, owner and deadline, what can be done now, and the ETA."""
    with open_recovery(db, playbooks) as rec:
        view = rec.get(incident_id)
    if json_output:
        print_json(view.to_dict())
        return
    console().print(incident_view(view))


@app.command("list")
def list_incidents(
    all_incidents: Annotated[
        bool, typer.Option("--all", help="Include closed and released incidents.")
    ] = False,
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    playbook: Annotated[str | None, typer.Option("--playbook", help="Only this playbook.")] = None,
    owner: Annotated[str | None, typer.Option("--owner", help="Only this owner.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 100,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Incidents by nearest deadline (open and escalated ones unless --all)."""
    with open_recovery(db, playbooks) as rec:
        views = rec.list_incidents(
            active_only=not all_incidents,
            site=site,
            playbook=playbook,
            owner=owner,
            limit=limit,
        )
    if json_output:
        print_json([v.to_dict() for v in views])
        return
    console().print(incidents_table(views))


@app.command()
def search(
    query: Annotated[
        str,
        typer.Argument(
            metavar="QUERY",
            help="A customer name (or a word of it), e-mail, phone, incident id or "
            "reservation/account/case number; the start of it is enough.",
        ),
    ],
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Only this site (repeatable).")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500, help="At most this many.")] = 50,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Find incidents, open and closed alike, most recently opened first."""
    with open_recovery(db, playbooks) as rec:
        views = rec.search(query[:100], sites=site or None, limit=limit)
    if json_output:
        print_json([v.to_dict() for v in views])
        return
    console().print(incidents_table(views))


@app.command()
def timeline(
    incident_id: IncidentId,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Every recorded event: what, who, when and through which channel."""
    with open_recovery(db, playbooks) as rec:
        events = rec.timeline(incident_id)
        if json_output:
            print_json([e.to_dict() for e in events])
            return
        compiled = rec.pinned_playbook(events[0].playbook_id, events[0].playbook_version)
    console().print(timeline_table(events, compiled))


actions.register(app)
