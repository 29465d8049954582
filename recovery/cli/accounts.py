"""`recovery users ...` and `recovery tokens ...`: people who sign in, and API tokens for
back-office systems. Errors are `RecoveryError`s, which the root command group turns into
one line on stderr and the error's exit code.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from recovery.bootstrap import open_accounts
from recovery.cli.options import DbOption
from recovery.cli.output import print_json
from recovery.domain.state import iso
from recovery.errors import CommandRejectedError
from recovery.service.accounts import parse_sites
from recovery.service.ports.accounts import TokenRow, UserRow

RoleOption = Annotated[
    str,
    typer.Option("--role", help="front_desk, manager, auditor, integration or admin."),
]
SitesOption = Annotated[
    str,
    typer.Option("--sites", help="The properties it may act on, comma-separated, or '*'."),
]
# Without `remember_json`: an error of these commands is one line on stderr only.
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

users_app = typer.Typer(help="People who log in (the web page, the API).", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for back-office systems.", no_args_is_help=True)


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
    with open_accounts(db) as accounts:
        user = accounts.add_user(username, secret, role, scope)
    typer.echo(f"user {user.username} added ({user.role} at {', '.join(user.sites)})")


@users_app.command("list")
def users_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List users."""
    with open_accounts(db) as accounts:
        found = accounts.list_users()
    if as_json:
        print_json([_user(u) for u in found])
        return
    for user in found:
        state = "active" if user.active else "disabled"
        typer.echo(f"{user.username}\t{user.role}\t{','.join(user.sites)}\t{state}")


@users_app.command("disable")
def users_disable(
    username: Annotated[str, typer.Argument(help="The login name.")], db: DbOption = None
) -> None:
    """Disable a user: they can no longer log in, and their sessions end."""
    with open_accounts(db) as accounts:
        if not accounts.set_user_disabled(username, True):
            raise CommandRejectedError(f"no user {username!r}", field="username")
    typer.echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(
    username: Annotated[str, typer.Argument(help="The login name.")], db: DbOption = None
) -> None:
    """Enable a disabled user again."""
    with open_accounts(db) as accounts:
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
    with open_accounts(db) as accounts:
        row, secret = accounts.create_token(name, role, scope)
    if as_json:
        print_json({**_token(row), "token": secret})
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
    with open_accounts(db) as accounts:
        found = accounts.list_tokens()
    if as_json:
        print_json([_token(t) for t in found])
        return
    for token in found:
        state = "active" if token.active else "revoked"
        typer.echo(f"{token.id}\t{token.name}\t{token.role}\t{','.join(token.sites)}\t{state}")


@tokens_app.command("revoke")
def tokens_revoke(
    token: Annotated[str, typer.Argument(help="The token's id or name.")], db: DbOption = None
) -> None:
    """Revoke an API token (servers stop accepting it within 30 seconds)."""
    with open_accounts(db) as accounts:
        row = accounts.revoke_token(token)
    if row is None:
        raise CommandRejectedError(f"no active token {token!r}", field="token")
    typer.echo(f"token {row.id} ({row.name}) revoked")
