"""`recovery incident act|close|note|push|...`: thin wrappers over the `Recovery` commands."""

from __future__ import annotations

from typing import Annotated

import typer

from recovery.cli.options import (
    DEFAULT_ACTOR,
    DEFAULT_CHANNEL,
    DEFAULT_ROLE,
    ActorOption,
    ChannelOption,
    DbOption,
    ExpectVersionOption,
    IncidentId,
    JsonOption,
    PlaybooksOption,
    RoleOption,
    command_options,
    run_command,
)
from recovery.domain.commands import RecordContact, ReportCues

Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the timeline).")]


def parse_evidence(pairs: list[str] | None) -> dict[str, str]:
    """`key=value` pairs as a dict (values stay text: the playbook's field types convert)."""
    evidence: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not key=value", param_hint="--evidence")
        evidence[key.strip()] = value
    return evidence


def act(
    incident_id: IncidentId,
    step: Annotated[str, typer.Argument(metavar="STEP", help="The step id, e.g. rebook_local.")],
    action: Annotated[
        str,
        typer.Argument(
            metavar="ACTION",
            help="complete, waive, request_approval, ... (letters: `recovery letters`)",
        ),
    ],
    evidence: Annotated[
        list[str] | None,
        typer.Option("--evidence", "-e", help="Evidence as key=value (repeatable)."),
    ] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="Why (waive, ...).")] = None,
    amount: Annotated[
        float | None, typer.Option("--amount", help="request_approval: the amount.")
    ] = None,
    alternatives: Annotated[
        list[str] | None,
        typer.Option("--alternative", help="deny_approval: what is offered instead (repeatable)."),
    ] = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Act on one step: complete it with its evidence, waive it, send a letter, ..."""
    given = parse_evidence(evidence)
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db,
        playbooks,
        json_output,
        lambda rec: rec.act_on_step(  # a letter step drafts and queues its letter
            incident_id,
            step,
            action,
            evidence=given,
            reason=reason,
            amount=amount,
            alternatives=alternatives or (),
            note=given.get("body"),
            recipient=given.get("recipient"),
            locale=given.get("locale"),
            **kw,
        ),
    )


def close(
    incident_id: IncidentId,
    summary: Annotated[str | None, typer.Option("--summary", help="How it was recovered.")] = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Close the incident (every required step must be done or waived)."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(db, playbooks, json_output, lambda rec: rec.close(incident_id, summary, **kw))


def note(
    incident_id: IncidentId,
    text: Annotated[str, typer.Argument(help="The note.")],
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add a note to the timeline."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(db, playbooks, json_output, lambda rec: rec.add_note(incident_id, text, **kw))


def push(
    incident_id: IncidentId,
    asked_for: Annotated[str, typer.Argument(help="What the customer had to ask for.")],
    step: Annotated[
        str | None, typer.Option("--step", help="The step the customer pushed for.")
    ] = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record that the customer had to push for something (a recovery failure)."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db,
        playbooks,
        json_output,
        lambda rec: rec.record_push(incident_id, asked_for, step, **kw),
    )


def handoff(
    incident_id: IncidentId,
    to: Annotated[str, typer.Option("--to", help="The new owner.")],
    context: Annotated[
        str, typer.Option("--context", help="What the new owner needs to know (10+ chars).")
    ],
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Hand the incident to a new owner, with the context so the customer never repeats it."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db, playbooks, json_output, lambda rec: rec.hand_off(incident_id, to, context, **kw)
    )


def escalate(
    incident_id: IncidentId,
    reason: Reason,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Escalate: raise the tier and notify a manager."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(db, playbooks, json_output, lambda rec: rec.escalate(incident_id, reason, **kw))


def release(
    incident_id: IncidentId,
    reason: Reason,
    referral: Annotated[str, typer.Option("--referral", help="Who can serve the customer.")],
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """End honestly: we cannot serve this customer well, and here is who can."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db,
        playbooks,
        json_output,
        lambda rec: rec.release(incident_id, reason, referral, **kw),
    )


def reopen(
    incident_id: IncidentId,
    reason: Reason,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Reopen a closed or released incident."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(db, playbooks, json_output, lambda rec: rec.reopen(incident_id, reason, **kw))


def cues(
    incident_id: IncidentId,
    cue: Annotated[list[str], typer.Argument(help="Cues heard: upset, considering_competitor...")],
    order_value: Annotated[
        float | None, typer.Option("--order-value", help="Business at stake.")
    ] = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Report dissatisfaction cues: they may raise the tier and add steps."""
    kw = command_options(actor_id, role, channel, expect_version)
    report = ReportCues(cues=cue, order_value=order_value)
    run_command(db, playbooks, json_output, lambda rec: rec.execute(incident_id, report, **kw))


def contact(
    incident_id: IncidentId,
    summary: Annotated[str, typer.Argument(help="What was said.")],
    direction: Annotated[
        str, typer.Option("--direction", help="inbound (from the customer) or outbound.")
    ] = "inbound",
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Record a contact with the customer (the channel is --channel)."""
    kw = command_options(actor_id, role, channel, expect_version)
    contact_command = RecordContact.model_validate(
        {"channel": channel, "direction": direction, "summary": summary}
    )
    run_command(
        db,
        playbooks,
        json_output,
        # Recovery.record_contact's `channel` is the contact's, so the command is built
        # here: the contact's channel and the command's channel are the same one.
        lambda rec: rec.execute(incident_id, contact_command, **kw),
    )


StepOption = Annotated[
    str | None, typer.Option("--step", help="One step (default: the whole incident).")
]


def hold(
    incident_id: IncidentId,
    reason: Annotated[
        str, typer.Option("--reason", help="What we are waiting for (the customer reads it).")
    ],
    step: StepOption = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Put a step (or every open step) on hold while waiting on the customer: its clock stops."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(
        db, playbooks, json_output, lambda rec: rec.hold(incident_id, reason, step=step, **kw)
    )


def resume(
    incident_id: IncidentId,
    step: StepOption = None,
    channel: ChannelOption = DEFAULT_CHANNEL,
    actor_id: ActorOption = DEFAULT_ACTOR,
    role: RoleOption = DEFAULT_ROLE,
    expect_version: ExpectVersionOption = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Resume held steps: each deadline moves by the time held (business time if it is)."""
    kw = command_options(actor_id, role, channel, expect_version)
    run_command(db, playbooks, json_output, lambda rec: rec.resume(incident_id, step=step, **kw))


def register(app: typer.Typer) -> None:
    """Add the action commands to the `incident` group."""
    for function in (
        act,
        close,
        note,
        push,
        handoff,
        escalate,
        release,
        reopen,
        cues,
        contact,
        hold,
        resume,
    ):
        app.command()(function)
