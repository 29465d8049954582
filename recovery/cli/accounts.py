"""CLI commands of the HTTP API: `recovery serve`, `recovery users ...`, `recovery tokens ...`.

`register(app)` adds them to the `recovery` Typer app. Errors are `RecoveryError`s, which
the root command group turns into one line on stderr and the error's exit code.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from recovery.bootstrap import connect
from recovery.config import Settings
from recovery.domain.state import iso
from recovery.errors import CommandRejectedError, RecoveryError
from recovery.service.accounts import Accounts, parse_sites
from recovery.service.engine import Recovery, utc_now
from recovery.storage.auth import AuthStore, TokenRow, UserRow
from recovery.storage.database import create_db_engine, upgrade

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database URL (sqlite:///file.db or postgresql://...). "
        "Default: $RECOVERY_DB, else sqlite:///recovery.db.",
        show_default=False,
    ),
]
RoleOption = Annotated[
    str,
    typer.Option("--role", help="front_desk, manager, auditor, integration or admin."),
]
SitesOption = Annotated[
    str,
    typer.Option("--sites", help="The properties it may act on, comma-separated, or '*'."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

users_app = typer.Typer(help="People who log in (the web page, the API).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for back-office systems.", no_args_is_help=True)


@contextmanager
def _accounts(db: str | None) -> Iterator[Accounts]:
    settings = Settings.from_env()
    engine = create_db_engine(db or settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        upgrade(engine)
        yield Accounts(AuthStore(engine), utc_now, cache_ttl=0)
    finally:
        engine.dispose()


def _print_json(data: Any) -> None:
    sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")


def _user(user: UserRow) -> dict[str, Any]:
    return {
        "username": user.username,
        "role": user.role,
        "sites": list(user.sites),
        "created_at": iso(user.created_at),
        "active": user.active,
    }


def _token(token: TokenRow) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "role": token.role,
        "sites": list(token.sites),
        "created_at": iso(token.created_at),
        "active": token.active,
    }


# ---------------------------------------------------------------------------- serve


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
    import uvicorn

    from recovery.http.app import create_app

    rec = connect(db, playbooks=playbooks)
    if demo:
        try:
            from recovery.demo import seed_demo
        except ImportError:
            typer.echo("the demo data is not available in this installation", err=True)
        else:
            try:
                seeded = seed_demo(rec)
            except RecoveryError as exc:  # serve anyway: the demo is a convenience
                typer.echo(f"demo: not seeded: {exc}", err=True)
            else:
                typer.echo(
                    f"demo: {len(seeded)} incidents recorded" if seeded else "demo: not empty"
                )
        _demo_users(rec)
    typer.echo(
        f"recovery on http://{host}:{port}/ (web page; API docs at http://{host}:{port}/docs)"
    )
    app = create_app(rec, dispose_on_shutdown=True)
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


def _demo_users(rec: Recovery) -> None:
    accounts = Accounts(AuthStore(rec.engine), rec.clock)
    if accounts.list_users():
        return
    for username, role, sites in DEMO_USERS:
        accounts.add_user(username, DEMO_PASSWORD, role, sites)
    names = ", ".join(f"{u} ({r})" for u, r, _ in DEMO_USERS)
    typer.echo(f"demo: sign in as {names} with the password {DEMO_PASSWORD!r}")


# ---------------------------------------------------------------------------- users


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="The login name.")],
    role: RoleOption,
    sites: SitesOption,
    password: Annotated[
        str | None,
        typer.Option("--password", help="Default: asked for, hidden.", show_default=False),
    ] = None,
    db: DbOption = None,
) -> None:
    """Add a user (the password is stored as an argon2 hash)."""
    scope = parse_sites(sites)
    secret = password or typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _accounts(db) as accounts:
        user = accounts.add_user(username, secret, role, scope)
    typer.echo(f"user {user.username} added ({user.role} at {', '.join(user.sites)})")


@users_app.command("list")
def users_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List users."""
    with _accounts(db) as accounts:
        found = accounts.list_users()
    if as_json:
        _print_json([_user(u) for u in found])
        return
    for user in found:
        state = "active" if user.active else "disabled"
        typer.echo(f"{user.username}\t{user.role}\t{','.join(user.sites)}\t{state}")


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="The login name.")], db: DbOption = None
) -> None:
    """Disable a user: they can no longer log in, and their sessions end."""
    with _accounts(db) as accounts:
        if not accounts.set_user_disabled(username, True):
            raise CommandRejectedError(f"no user {username!r}", field="username")
    typer.echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(
    username: Annotated[str, typer.Argument(help="The login name.")], db: DbOption = None
) -> None:
    """Enable a disabled user again."""
    with _accounts(db) as accounts:
        if not accounts.set_user_disabled(username, False):
            raise CommandRejectedError(f"no user {username!r}", field="username")
    typer.echo(f"user {username} enabled")


# ---------------------------------------------------------------------------- tokens


@tokens_app.command("create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="What uses it, e.g. pms-ribe.")],
    role: RoleOption,
    sites: SitesOption,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API token. The secret is printed this once; only its hash is kept."""
    scope = parse_sites(sites)
    with _accounts(db) as accounts:
        row, secret = accounts.create_token(name, role, scope)
    if as_json:
        _print_json({**_token(row), "token": secret})
        return
    typer.echo(secret)
    typer.echo(
        f"token {row.id} ({row.name}, {row.role} at {', '.join(row.sites)}): "
        "keep the secret above, it is not shown again",
        err=True,
    )


@tokens_app.command("list")
def tokens_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List API tokens (never their secrets)."""
    with _accounts(db) as accounts:
        found = accounts.list_tokens()
    if as_json:
        _print_json([_token(t) for t in found])
        return
    for token in found:
        state = "active" if token.active else "revoked"
        typer.echo(f"{token.id}\t{token.name}\t{token.role}\t{','.join(token.sites)}\t{state}")


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or name.")], db: DbOption = None
) -> None:
    """Revoke an API token (servers stop accepting it within 30 seconds)."""
    with _accounts(db) as accounts:
        row = accounts.revoke_token(token)
    if row is None:
        raise CommandRejectedError(f"no active token {token!r}", field="token")
    typer.echo(f"token {row.id} ({row.name}) revoked")


def register(app: typer.Typer) -> None:
    """Add `serve`, `users` and `tokens` to the `recovery` CLI."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
