"""`recovery letters`: draft, queue, show and follow the written follow-up's letters."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from recovery.cli.options import (
    DEFAULT_ACTOR,
    DEFAULT_CHANNEL,
    DEFAULT_ROLE,
    ActorOption,
    ChannelOption,
    DbOption,
    ExpectVersionOption,
    JsonOption,
    PlaybooksOption,
    RoleOption,
    command_options,
    open_recovery,
    run_command,
)
from recovery.cli.output import console, print_json, short_time, status_text, styled
from recovery.errors import RecoveryError

app = typer.Typer(
    help="The written follow-up: draft, send, show and follow letters.", no_args_is_help=True
)

IncidentId = Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id (inc_...).")]
StepId = Annotated[
    str, typer.Argument(metavar="STEP", help="The written step, e.g. written_apology.")
]
LocaleOption = Annotated[
    str | None,
    typer.Option(
        "--locale", help="Language of the letter: en, da or id (default: the customer's)."
    ),
]


@app.command("show")
def show(
    incident_id: IncidentId,
    step: StepId,
    locale: LocaleOption = None,
    html: Annotated[
        bool, typer.Option("--html", help="Print the print-friendly HTML page instead.")
    ] = False,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Render it as it would be now, not as it was queued."),
    ] = False,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Show a step's letter: as queued for the mailer once it was, else a preview."""
    with open_recovery(db, playbooks) as rec:
        letter = rec.render_letter(incident_id, step, locale, preview=preview)
    if json_output:
        print_json(letter.to_dict())
    elif html:
        typer.echo(letter.html, nl=False)
    else:
        typer.echo(f"Subject: {letter.subject}\n")
        typer.echo(letter.text, nl=False)


@app.command("status")
def status(
    incident_id: Annotated[
        str | None,
        typer.Argument(metavar="[INCIDENT]", help="Only this incident's letters."),
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Where each letter stands: queued, retrying (and why), sent (message id), dead."""
    with open_recovery(db, playbooks) as rec:
        found = rec.letter_status(incident_id)
    if json_output:
        print_json(found.to_dict())
        return
    out = console()
    counts = ", ".join(f"{k} {v}" for k, v in found.counts.items() if v)
    out.print(f"letters: {counts or 'none'}; backlog {found.backlog}")
    if found.letters:
        table = Table(show_header=True, header_style="bold")
        for column in ("letter", "incident / step", "to", "status", "tries", "next / sent", "note"):
            table.add_column(column)
        for letter in found.letters:
            when = letter.accepted_at or (
                letter.next_attempt_at if letter.status in ("pending", "failed") else ""
            )
            table.add_row(
                letter.id,
                f"{letter.incident_id}\n{letter.step_id}",
                letter.recipient,
                status_text(letter.status),
                str(letter.attempts),
                short_time(when) if when else "",
                styled(letter.last_error or letter.message_id or ""),
            )
        out.print(table)
    for stalled in found.stalled:
        out.print(
            f"[red]step {stalled['step']} waits for letter {stalled['letter_id']}, which is "
            f"{stalled['letter_status'] or 'not queued'}: send it again[/red]"
        )


@app.command("draft")
def draft(
    incident_id: IncidentId,
    step: StepId,
    note: Annotated[
        str | None, typer.Option("--note", help="A personal paragraph for the letter.")
    ] = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Draft the letter (issuing its voucher code, where the playbook has one)."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db,
        playbooks,
        json_output,
        lambda rec: rec.draft_letter(incident_id, step, note=note, **kw),
    )


@app.command("send")
def send(
    incident_id: IncidentId,
    step: StepId,
    to: Annotated[
        str | None,
        typer.Option("--to", help="E-mail address (default: the customer's contact)."),
    ] = None,
    locale: LocaleOption = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Queue the drafted letter for the mailer (the worker mails it; the step is sent once
    the mail server accepted it)."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db,
        playbooks,
        json_output,
        lambda rec: rec.request_letter(incident_id, step, recipient=to, locale=locale, **kw),
    )


@app.command("voucher")
def voucher(
    code: Annotated[
        str, typer.Argument(metavar="CODE", help="The code, as the customer gives it.")
    ],
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Look up a voucher or certificate code: which incident issued it, is it valid."""
    with open_recovery(db, playbooks) as rec:
        found = rec.find_voucher(code)
    if found is None:
        raise _NoSuchVoucher(f"no voucher {code!r} was issued")
    if json_output:
        print_json(found.to_dict())
        return
    v = found.voucher
    verdict = "valid" if found.valid else "NOT valid"
    console().print(
        f"{v.code}: {verdict}; {v.kind} issued {short_time(v.issued_at)} by {v.incident_id} "
        f"({v.step_id}, letter {found.letter})"
        + (f"; valid until {v.valid_until}" if v.valid_until else "")
        + ("; expired" if found.expired else "")
        + ("" if found.issued else "; never recorded on the incident")
    )


class _NoSuchVoucher(RecoveryError):
    code = "not_found"
    exit_code = 4
