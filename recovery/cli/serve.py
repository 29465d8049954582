"""`recovery serve`: the HTTP app (the JSON API and the web pages) on uvicorn."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from recovery.bootstrap import connect, services
from recovery.cli.options import DbOption, settings
from recovery.cli.playbooks import drifted
from recovery.cli.worker import letter_mailer, webhook_targets
from recovery.demo import seed_demo
from recovery.errors import RecoveryError
from recovery.letters.mailers import describe_mailer
from recovery.service.accounts import Accounts
from recovery.service.worker import BackgroundWorker

if TYPE_CHECKING:
    from fastapi import FastAPI


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
    no_worker: Annotated[
        bool,
        typer.Option(
            "--no-worker",
            help="Run no background work in this server (missed deadlines, letters, "
            "webhooks): for deployments that run `recovery worker` separately.",
        ),
    ] = False,
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
    if no_worker:
        typer.echo("worker: not started (--no-worker); run `recovery worker` beside this server")
    else:
        mailer = letter_mailer(None, None)
        background = BackgroundWorker(
            rec, webhook_targets(None), mailer=mailer, retention=settings().retention
        )
        with_worker(app, background)
        typer.echo(f"worker: in this server; letters by {describe_mailer(mailer)}")
    # Everything loaded so far (framework, schemas, playbooks) lives as long as the server:
    # leave it out of the garbage collector's full passes, which otherwise walk it all
    # and stall every request in flight.
    gc.collect()
    gc.freeze()
    # open live pages (server-sent events) never finish by themselves: cut them at exit
    uvicorn.run(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=3)


def with_worker(app: FastAPI, background: BackgroundWorker) -> None:
    """Run `background` while `app` serves: started after the app's own start-up, stopped
    before its shutdown disposes the database."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: FastAPI) -> AsyncIterator[None]:
        async with inner(target):
            background.start()
            target.state.worker = background
            try:
                yield
            finally:
                background.stop()

    app.router.lifespan_context = lifespan


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
