"""`recovery demo`: record the demo's six stories, so there is something to look at."""

from __future__ import annotations

from typing import Annotated

import typer

from recovery.bootstrap import masked_url
from recovery.cli.options import (
    DbOption,
    JsonOption,
    PlaybooksOption,
    db_url,
    open_recovery,
)
from recovery.cli.output import console, print_json
from recovery.cli.render import incidents_table
from recovery.demo import demo_mail_dir, seed_demo


def demo(
    force: Annotated[
        bool, typer.Option("--force", help="Record the stories even if incidents exist.")
    ] = False,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record the demo's six stories as incidents (does nothing if incidents exist)."""
    with open_recovery(db, playbooks) as rec:
        ids = seed_demo(rec, force=force)
        views = [rec.get(incident_id) for incident_id in ids]
        mail_dir = demo_mail_dir(rec)
    if json_output:
        print_json({"created": ids, "incidents": [v.to_dict() for v in views]})
        return
    out = console()
    if not ids:
        out.print(
            f"{masked_url(db_url(db))} already has incidents; nothing recorded "
            "(use --force to record the demo stories again)",
            markup=False,
        )
        return
    out.print(incidents_table(views))
    out.print(f"The stories' letters (.eml files) are in {mail_dir}", markup=False)
    out.print(
        "Try: recovery incident list --all, recovery incident show ID, "
        "recovery incident timeline ID, recovery letters status, recovery audit verify --all",
        markup=False,
    )
