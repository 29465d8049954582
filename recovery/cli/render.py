"""Rich views of incidents, their steps and their timelines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from recovery.cli.output import relative, short_time, status_text, styled
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.describe import describe
from recovery.domain.state import Event, IncidentState, StepState
from recovery.service.engine import IncidentView, Outcome


def incident_header(state: IncidentState) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    customer = state.customer
    who = customer.get("name", "?")
    if customer.get("member_since"):
        who += f" (member since {customer['member_since']}"
        if customer.get("tenure_years") is not None:
            who += f", {customer['tenure_years']:g} years"
        who += ")"
    if customer.get("contact"):
        who += f", {customer['contact']}"
    status = Text.assemble(status_text(state.status), f"  tier {state.tier}")
    rows: list[tuple[str, RenderableType]] = [
        ("incident", styled(state.id, "bold")),
        ("playbook", styled(f"{state.playbook_id} v{state.playbook_version}")),
        ("type", styled(state.incident_type)),
        ("status", status),
        ("site", styled(state.site)),
        ("owner", styled(state.owner)),
        ("customer", styled(who)),
    ]
    if state.cues:
        rows.append(("cues", styled(", ".join(state.cues), "magenta")))
    if state.summary:
        rows.append(("summary", styled(state.summary)))
    rows.append(
        (
            "counts",
            styled(
                f"pushes {state.pushes}  handoffs {state.handoffs}  contacts {state.contacts}"
                f"  notes {state.notes}  escalations {state.escalations}",
                "red" if state.pushes else None,
            ),
        )
    )
    rows.append(("opened", styled(short_time(state.opened_at))))
    if state.ended_at:
        rows.append(("ended", styled(short_time(state.ended_at))))
    if state.release:
        rows.append(
            (
                "released",
                styled(f"{state.release['reason']} (referral: {state.release['referral']})"),
            )
        )
    for name, value in rows:
        grid.add_row(name, value)
    return grid


def steps_table(state: IncidentState, *, live: bool, order: Sequence[str] | None = None) -> Table:
    """The steps, in `order` (the playbook's) when given, else as stored."""
    now = datetime.now(UTC)
    table = Table(title="Steps")
    for column in ("step", "kind", "status", "owner", "due", "required", "evidence"):
        table.add_column(column)
    steps = list(state.steps.values())
    if order is not None:
        rank = {step_id: i for i, step_id in enumerate(order)}
        steps.sort(key=lambda s: rank.get(s.id, len(rank)))
    for step in steps:
        table.add_row(
            Text.assemble((step.id, "bold"), "\n", (step.title, "dim")),
            step.kind,
            _step_status(step),
            styled(step.owner),
            _due(step, now if live else None),
            "yes" if step.required else "no",
            styled(_evidence_text(step)),
        )
    return table


def _step_status(step: StepState) -> Text:
    text = status_text(step.status)
    if step.late:
        text.append(" late", style="red")
    if step.pushed:
        text.append(f" pushed x{step.pushed}", style="red")
    if step.added_by:
        text.append(f"\n(cue {step.added_by})", style="magenta")
    return text


def _due(step: StepState, now: datetime | None) -> Text:
    text = Text(short_time(step.due_at))
    if step.resolved_at:
        text.append(f"\nresolved {short_time(step.resolved_at)}", style="dim")
    elif now is not None:
        overdue = step.due_at < now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        text.append(f"\n{relative(step.due_at, now)}", style="bold red" if overdue else "dim")
    return text


def _evidence_text(step: StepState) -> str:
    lines = [f"{k}={v}" for k, v in step.evidence.items()]
    if step.approval:
        approval = step.approval
        line = f"approval {approval.get('status')}"
        if approval.get("requested_amount") is not None:
            line += f" ({approval['requested_amount']:g})"
        lines.append(line)
    return "\n".join(lines)


def incident_view(view: IncidentView) -> Group:
    parts: list[RenderableType] = [incident_header(view.state)]
    if view.eta:
        parts.append(Text.assemble(("eta ", "bold"), f"{short_time(view.eta)} (everything open)"))
    parts.append(steps_table(view.state, live=True))
    parts.append(Text.assemble(("allowed now: ", "bold"), ", ".join(view.allowed) or "nothing"))
    if view.pending_for_close:
        parts.append(Text.assemble(("before closing: ", "bold"), ", ".join(view.pending_for_close)))
    return Group(*parts)


def replayed_state(state: IncidentState, order: Sequence[str]) -> Group:
    title = Text.assemble(
        ("as of event ", "bold"), f"#{state.version} ({short_time(state.updated_at)})"
    )
    return Group(title, incident_header(state), steps_table(state, live=False, order=order))


def incidents_table(views: Sequence[IncidentView]) -> Table:
    now = datetime.now(UTC)
    table = Table(title=f"Incidents ({len(views)})")
    table.add_column("incident / customer", no_wrap=True, min_width=_id_width(views))
    table.add_column("status")
    table.add_column("playbook / site")
    table.add_column("owner")
    table.add_column("to do", justify="right")
    table.add_column("eta")
    table.add_column("pushes", justify="right")
    for view in views:
        state = view.state
        open_steps = sum(1 for s in state.steps.values() if s.resolved_at is None)
        eta = Text(short_time(view.eta))
        if view.eta:
            eta.append(f"\n{relative(view.eta, now)}", style="dim")
        table.add_row(
            Text.assemble((state.id, "bold"), "\n", (str(state.customer.get("name", "?")), "dim")),
            Text.assemble(status_text(state.status), f"\ntier {state.tier}"),
            Text.assemble(state.playbook_id, "\n", (state.site, "dim")),
            styled(state.owner),
            f"{open_steps}/{len(state.steps)}",
            eta,
            Text(str(state.pushes), style="red" if state.pushes else ""),
        )
    return table


def _id_width(views: Sequence[IncidentView]) -> int:
    return max((len(v.id) for v in views), default=8)


def timeline_table(events: Sequence[Event], compiled: CompiledPlaybook) -> Table:
    table = Table(title=f"Timeline of {events[0].incident_id}" if events else "Timeline")
    table.add_column("#", justify="right")
    for column in ("at", "event", "by", "channel", "what"):
        table.add_column(column)
    for event in events:
        table.add_row(
            str(event.seq),
            short_time(event.recorded_at),
            styled(event.type, "bold"),
            styled(f"{event.actor}\n({event.actor_role})"),
            styled(event.channel),
            styled(describe(event, compiled).line()),
        )
    return table


def outcome_line(outcome: Outcome, compiled: CompiledPlaybook) -> Text:
    view = outcome.incident
    event = outcome.event
    return Text.assemble(
        ("recorded ", "green"),
        (event.type, "bold"),
        f" as event #{event.seq} of {view.id}: ",
        styled(describe(event, compiled).line()),
        "\nincident ",
        status_text(view.status),
        f" (version {view.version}); allowed now: {', '.join(view.allowed) or 'nothing'}",
    )
