"""`recovery serve`: the HTTP app (the JSON API and the web pages) on uvicorn."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Annotated

import typer

from recovery.bootstrap import connect, services
from recovery.cli.options import DbOption
from recovery.cli.playbooks import drifted
from recovery.demo import seed_demo
from recovery.errors import RecoveryError
from recovery.service.accounts import Accounts


def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    db: DbOption = None,
    playbooks: Annotated[
        Path | None,
        typer.Option("--playbooks", help="Folder of playbook files.", file_okay=False),
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo stories when the database is empty.")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "info",
) -> None:
    """Start the HTTP/JSON API (interactive docs at /docs, the description at /openapi.json)."""
    import uvicorn  # the web stack loads for this command only, not for every CLI call

    from recovery.http import create_app

    rec = connect(db, playbooks=playbooks)
    for problem in drifted(rec):  # opening such an incident is refused (422) with this text
        typer.echo(f"warning: {problem}", err=True)
    built = services(rec)
    if demo:
        try:
            seeded = seed_demo(rec)
        except RecoveryError as exc:  # serve anyway: the demo is a convenience
            typer.echo(f"demo: not seeded: {exc}", err=True)
        else:
            typer.echo(f"demo: {len(seeded)} incidents recorded" if seeded else "demo: not empty")
        _demo_users(built.accounts)
    typer.echo(
        f"recovery on http://{host}:{port}/ (web page; API docs at http://{host}:{port}/docs)"
    )
    app = create_app(built, dispose_on_shutdown=True)
    # Everything loaded so far (framework, schemas, playbooks) lives as long as the server:
    # leave it out of the garbage collector's full passes, which otherwise walk it all
    # and stall every request in flight.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=port, log_level=log_level)


# Sign-ins for a newcomer to look around the demo; created only by `serve --demo`, and only
# in a database that has no users yet.
DEMO_PASSWORD = "recovery-demo"
DEMO_USERS = (
    ("desk", "front_desk", ("ribe-central", "copenhagen-airport")),
    ("manager", "manager", ("*",)),
    ("auditor", "auditor", ("*",)),
    ("admin", "admin", ("*",)),
)


def _demo_users(accounts: Accounts) -> None:
    if accounts.list_users():
        return
    for username, role, sites in DEMO_USERS:
        accounts.add_user(username, DEMO_PASSWORD, role, sites)
    names = ", ".join(f"{u} ({r})" for u, r, _ in DEMO_USERS)
    typer.echo(f"demo: sign in as {names} with the password {DEMO_PASSWORD!r}")
