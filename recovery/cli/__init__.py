"""The operator CLI: `recovery db|playbooks|incident|letters|audit|demo|serve|users|tokens
...` (Typer + Rich).

Every command that touches the database takes `--db URL`, every command that prints data
takes `--json`; a user error ends with one line on stderr and the error's exit code.
"""

from __future__ import annotations

import typer

from recovery.cli import (
    accounts,
    audit,
    customers,
    db,
    demo,
    incidents,
    letters,
    links,
    playbooks,
    report,
    serve,
    sites,
    webhooks,
    worker,
)
from recovery.cli.output import GuardedGroup

app = typer.Typer(
    name="recovery",
    help="Service-recovery playbook engine: playbooks, incidents and their audit trail.",
    cls=GuardedGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

# ---- sub-apps and commands: register more here with app.add_typer(...) / app.command()
app.add_typer(db.app, name="db")
app.add_typer(playbooks.app, name="playbooks")
app.add_typer(sites.app, name="sites")
app.add_typer(incidents.app, name="incident")
app.add_typer(incidents.app, name="incidents", hidden=True)  # `recovery incidents search`
app.add_typer(audit.app, name="audit")
app.add_typer(letters.app, name="letters")
app.add_typer(links.app, name="links")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(customers.app, name="customers")
app.command()(demo.demo)
app.command()(report.report)
app.command()(worker.worker)
app.command()(serve.serve)
app.add_typer(accounts.users_app, name="users")
app.add_typer(accounts.tokens_app, name="tokens")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="recovery")


__all__ = ["app", "main"]
