"""`recovery db`: create and migrate the database."""

from __future__ import annotations

import typer
from alembic.runtime.migration import MigrationContext
from rich.text import Text

from recovery.cli.options import DbOption, JsonOption, db_url, masked, open_engine
from recovery.cli.output import console, print_json
from recovery.storage.database import reading
from recovery.storage.database import upgrade as upgrade_schema

app = typer.Typer(help="Create and migrate the database.", no_args_is_help=True)


@app.command()
def upgrade(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Bring the database schema to the newest revision (creating the database if needed)."""
    engine = open_engine(db)
    try:
        upgrade_schema(engine)
        with reading(engine) as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
    url = masked(db_url(db))
    if json_output:
        print_json({"db": url, "revision": revision})
        return
    console().print(
        Text.assemble("database ", (url, "bold"), " is at revision ", (str(revision), "green"))
    )
