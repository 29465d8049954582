"""`recovery links`: the customer's status links of an incident (create, list, revoke,
send), as the API and the web page offer them."""

from __future__ import annotations

from typing import Annotated

import typer

from recovery.bootstrap import services
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

app = typer.Typer(help="The customer's status links of an incident.", no_args_is_help=True)

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Where customers reach the server (default: $RECOVERY_PUBLIC_URL).",
        show_default=False,
    ),
]


@app.command()
def create(
    incident_id: IncidentId,
    base_url: BaseUrl = None,
    actor_id: ActorOption = DEFAULT_ACTOR,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """A new link: its token (and address) are printed this once only."""
    with open_recovery(db, playbooks) as rec:
        rec.get(incident_id)  # an unknown incident is refused by name
        made = services(rec).links.make(incident_id, actor_id, rec.clock(), base_url)
    if json_output:
        print_json(made.to_dict())
        return
    console().print(made.url or f"token {made.token} (set --base-url for the address)")


@app.command("list")
def list_links(
    incident_id: IncidentId,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """The incident's links, live and revoked (never their tokens)."""
    with open_recovery(db, playbooks) as rec:
        rec.get(incident_id)
        found = services(rec).links.list(incident_id)
    if json_output:
        print_json([link.to_dict() for link in found])
        return
    out = console()
    for link in found:
        state = "live" if link.active else f"revoked {link.revoked_at:%Y-%m-%d %H:%M}"
        out.print(f"{link.id}  {link.created_at:%Y-%m-%d %H:%M}  {link.created_by}  {state}")
    if not found:
        out.print("no links")


@app.command()
def revoke(
    incident_id: IncidentId,
    link_id: Annotated[str, typer.Argument(metavar="LINK", help="The link's id (from list).")],
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Revoke one link: it no longer opens the customer's page."""
    with open_recovery(db, playbooks) as rec:
        info = services(rec).links.revoke(incident_id, link_id, rec.clock())
    if json_output:
        print_json(info.to_dict())
        return
    console().print(f"revoked {info.id}")


@app.command()
def send(
    incident_id: IncidentId,
    via: Annotated[
        str, typer.Option("--via", help="email (the mailer), or sms, chat... (a webhook).")
    ] = "email",
    recipient: Annotated[
        str | None,
        typer.Option(
            "--to", help="Recipient (default: the customer's contact).", show_default=False
        ),
    ] = None,
    base_url: BaseUrl = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Make a new link and send it to the customer; recorded in the timeline."""
    with open_recovery(db, playbooks) as rec:
        sent = services(rec).links.send(
            incident_id,
            via=via,
            recipient=recipient,
            actor=actor(actor_id, role),
            channel=channel,
            base_url=base_url,
        )
    if json_output:
        print_json({"link": sent.link.to_dict(), "outcome": sent.outcome.to_dict()})
        return
    event = sent.outcome.event
    console().print(f"sent by {via} to {event.data['recipient']}: {sent.link.url}")
