"""`recovery customers show KEY`: one customer across their incidents; `erase KEY --reason`
and `export KEY`: their personal data erased, or exported, on request."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import orjson
import typer

from recovery.cli.options import (
    DEFAULT_ACTOR,
    ActorOption,
    DbOption,
    JsonOption,
    PlaybooksOption,
    open_recovery,
)
from recovery.cli.output import console, print_json, styled
from recovery.domain.commands import Actor
from recovery.domain.state import iso

app = typer.Typer(help="Customers across their incidents.", no_args_is_help=True)


@app.command()
def show(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="The customer's number, or their contact.")
    ],
    site: Annotated[
        list[str] | None, typer.Option("--site", help="Only these properties (repeatable).")
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Every incident of the customer in one timeline: compensation given, pushes, and
    the promises still open."""
    with open_recovery(db, playbooks) as rec:
        view = rec.customer(key, sites=site or None, now=iso(rec.clock()))
    if json_output:
        print_json(view.to_dict())
        return
    out = console()
    out.print(styled(f"{view.name or key} ({view.key})", "bold"))
    if not view.incidents:
        out.print("no incidents")
        return
    total = ", ".join(f"{amount:g} {cur}" for cur, amount in view.compensation_total.items())
    out.print(f"{len(view.incidents)} incident(s); compensation {total or 'none'}; "
              f"pushes {view.pushes}")  # fmt: skip
    for line in view.incidents:
        promise = line.next_promise
        promised = f"; promised: {promise.title} by {promise.due_at}" if promise else ""
        out.print(
            styled(f"{line.opened_at[:16]}  {line.playbook} ({line.status}){promised}"),
            soft_wrap=True,
        )
    out.print(styled("timeline", "bold"))
    for entry in view.timeline:
        words = f": {entry.text}" if entry.text else ""
        out.print(styled(f"{entry.at[:16]}  {entry.title}{words}"), soft_wrap=True)


@app.command()
def erase(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="The customer's number, or their contact.")
    ],
    reason: Annotated[
        str,
        typer.Option("--reason", help="Why (a request's reference): recorded with the erasure."),
    ],
    actor_id: ActorOption = DEFAULT_ACTOR,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Erase the customer's personal data in every incident of theirs, as an administrator:
    names, contacts, texts, letters and status links go; amounts, steps, times and the
    whole decision history stay, and every hash chain still verifies."""
    with open_recovery(db, playbooks) as rec:
        done = rec.erase_customer(key, actor=Actor(id=actor_id, role="admin"), reason=reason)
    if json_output:
        print_json(done.to_dict())
        return
    out = console()
    out.print(styled(f"Erased {len(done.erased)} incident(s) of {key}", "bold"))
    for incident_id in done.erased:
        out.print(styled(f"  {incident_id}"))
    if done.already:
        out.print(styled(f"{len(done.already)} erased before: {', '.join(done.already)}"))
    if done.unsealed:
        out.print(
            styled(
                f"{len(done.unsealed)} NOT erased (events never sealed, chain broken before "
                f"migration 0018; see `recovery audit verify ID`): {', '.join(done.unsealed)}",
                "bold",
            ),
            soft_wrap=True,
        )


@app.command()
def export(
    key: Annotated[
        str, typer.Argument(metavar="KEY", help="The customer's number, or their contact.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Write the JSON here (default: stdout).", dir_okay=False
        ),
    ] = None,
    actor_id: ActorOption = DEFAULT_ACTOR,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
) -> None:
    """Everything held about the customer (a subject access request), as JSON."""
    with open_recovery(db, playbooks) as rec:
        exported = rec.export_customer(key, actor=Actor(id=actor_id, role="admin"))
    if output is None:
        print_json(exported)
        return
    output.write_bytes(orjson.dumps(exported, option=orjson.OPT_INDENT_2))
    console().print(styled(f"Wrote {len(exported['incidents'])} incident(s) to {output}"))
