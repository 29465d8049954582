"""`recovery customers show KEY`: one customer across their incidents."""

from __future__ import annotations

from typing import Annotated

import typer

from recovery.cli.options import DbOption, JsonOption, PlaybooksOption, open_recovery
from recovery.cli.output import console, print_json, styled
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
