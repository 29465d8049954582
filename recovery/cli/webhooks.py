"""`recovery webhooks`: the webhook endpoints back offices registered (list, add, rotate
the secret, delete, read the delivery log, redeliver), for operators: every owner's. The
targets configured on the worker (`--webhooks`, RECOVERY_WEBHOOKS) stay as they are."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from recovery.bootstrap import webhook_endpoints
from recovery.cli.options import DbOption, JsonOption, PlaybooksOption, open_recovery
from recovery.cli.output import console, print_json
from recovery.service.webhooks import (
    GRACE_DEFAULT,
    GRACE_MAX,
    PAGE_MAX,
    attempt_view,
    endpoint_view,
)

app = typer.Typer(help="Webhook endpoints registered through the API.", no_args_is_help=True)

EndpointArg = Annotated[str, typer.Argument(help="The endpoint's id (we_...).")]


def _show_secret(secret: str) -> None:
    console().print(f"secret (shown this once): {secret}")


@app.command("list")
def list_endpoints(
    db: DbOption = None, playbooks: PlaybooksOption = None, json_output: JsonOption = False
) -> None:
    """Every live endpoint, whoever registered it (never their secrets)."""
    with open_recovery(db, playbooks) as rec:
        found = webhook_endpoints(rec).list_endpoints(None)
    if json_output:
        print_json([endpoint_view(e) for e in found])
        return
    out = console()
    for e in found:
        kinds = ",".join(e.kinds) if e.kinds else "every kind"
        sites = ",".join(e.sites) if e.sites else "every property"
        out.print(f"{e.id}  {e.owner}  {e.url}  {kinds}  {sites}")
    if not found:
        out.print("no webhook endpoints")


@app.command()
def add(
    url: Annotated[str, typer.Argument(help="Where to POST: an http(s) address.")],
    kinds: Annotated[
        list[str] | None, typer.Option("--kind", help="Only this effect kind (repeatable).")
    ] = None,
    sites: Annotated[
        list[str] | None, typer.Option("--site", help="Only this property (repeatable).")
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Register an endpoint owned by the operator; its secret is printed this once."""
    with open_recovery(db, playbooks) as rec:
        made = webhook_endpoints(rec).create(None, url, kinds or None, sites or None)
    if json_output:
        print_json(endpoint_view(made, secret=True))
        return
    console().print(f"{made.id}  {made.url}")
    _show_secret(made.secret)


@app.command()
def rotate(
    endpoint_id: EndpointArg,
    grace: Annotated[
        int,
        typer.Option(
            "--grace",
            min=0,
            max=int(GRACE_MAX.total_seconds()),
            help="Seconds the old secret keeps signing beside the new one.",
        ),
    ] = int(GRACE_DEFAULT.total_seconds()),
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """A new secret for the endpoint, printed this once."""
    with open_recovery(db, playbooks) as rec:
        rotated = webhook_endpoints(rec).rotate(None, endpoint_id, timedelta(seconds=grace))
    if json_output:
        print_json(endpoint_view(rotated, secret=True))
        return
    _show_secret(rotated.secret)


@app.command()
def delete(
    endpoint_id: EndpointArg,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop delivering to the endpoint (its log stays until pruned)."""
    with open_recovery(db, playbooks) as rec:
        deleted = webhook_endpoints(rec).delete(None, endpoint_id)
    if json_output:
        print_json(endpoint_view(deleted))
        return
    console().print(f"deleted {deleted.id} ({deleted.url})")


@app.command()
def deliveries(
    endpoint_id: EndpointArg,
    limit: Annotated[int, typer.Option("--limit", min=1, max=PAGE_MAX)] = 50,
    before: Annotated[
        int | None, typer.Option("--before", min=1, help="Older than this log id.")
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """The endpoint's delivery log, newest first."""
    with open_recovery(db, playbooks) as rec:
        page = webhook_endpoints(rec).deliveries(None, endpoint_id, before=before, limit=limit)
    if json_output:
        print_json(
            {"items": [attempt_view(a) for a in page.items], "next_before": page.next_before}
        )
        return
    out = console()
    for a in page.items:
        answer = str(a.status_code) if a.status_code is not None else "no answer"
        out.print(
            f"{a.id}  {a.at:%Y-%m-%d %H:%M:%S}  message {a.message_id} ({a.kind}) "
            f"attempt {a.attempt}  {answer}  {a.duration_ms} ms"
            + (f"  {a.error}" if a.error and not a.ok else "")
        )
    if not page.items:
        out.print("nothing delivered to this endpoint yet")
    elif page.next_before:
        out.print(f"older: --before {page.next_before}")


@app.command()
def redeliver(
    endpoint_id: EndpointArg,
    message: Annotated[int, typer.Argument(help="The message id, from the delivery log.")],
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
) -> None:
    """Send one message to the endpoint again (the worker does, on its next pass)."""
    with open_recovery(db, playbooks) as rec:
        webhook_endpoints(rec).redeliver(None, endpoint_id, message)
    console().print(f"message {message} queued again for {endpoint_id}")
