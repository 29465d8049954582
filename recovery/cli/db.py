"""`recovery db`: create and migrate the database."""

from __future__ import annotations

import typer
from rich.text import Text

from recovery.bootstrap import masked_url, open_storage
from recovery.cli.options import DbOption, JsonOption, db_url, settings
from recovery.cli.output import console, print_json

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)


@app.command()
def upgrade(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Bring the database schema to the newest revision (creating the database if needed)."""
    storage = open_storage(db_url(db), settings=settings(), migrate=False)
    try:
        storage.migrate()
        revision = storage.current_revision()
    finally:
        storage.dispose()
    url = masked_url(db_url(db))
    if json_output:
        print_json({"db": url, "revision": revision})
        return
    console().print(
        Text.assemble("database ", (url, "bold"), " is at revision ", (str(revision), "green"))
    )
