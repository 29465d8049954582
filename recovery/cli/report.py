"""`recovery report`: how recovery is delivered, per site and playbook."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from recovery.cli.options import (
    DbOption,
    JsonOption,
    PlaybooksOption,
    open_recovery,
    parse_moment,
)
from recovery.cli.output import console, print_json
from recovery.errors import CommandRejectedError
from recovery.service.reports import GroupBy


def report(
    by: Annotated[
        str, typer.Option("--by", help="Group by: site, playbook, site_playbook or all.")
    ] = "site_playbook",
    site: Annotated[str | None, typer.Option("--site", help="Only this site.")] = None,
    playbook: Annotated[str | None, typer.Option("--playbook", help="Only this playbook.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Opened (erasures: erased) at or after.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Opened (erasures: erased) before.")
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Recovery score, pushes, handoffs, deadlines kept, first-contact remedy, releases;
    and how many incidents had their personal data erased in the period."""
    if by not in ("site", "playbook", "site_playbook", "all"):
        raise CommandRejectedError(
            f"--by must be site, playbook, site_playbook or all, not {by!r}", field="by"
        )
    group: GroupBy = by  # type: ignore[assignment]
    with open_recovery(db, playbooks) as rec:
        rows = rec.report(
            by=group,
            site=site,
            playbook=playbook,
            since=parse_moment(since, "since"),
            until=parse_moment(until, "until"),
        )
    if json_output:
        print_json([row.to_dict() for row in rows])
        return
    table = Table(title="Recovery report", title_justify="left")
    for header in (
        "group",
        "incidents",
        "active",
        "closed",
        "released",
        "score",
        "pushes/inc",
        "handoffs/inc",
        "deadlines kept",
        "first-contact remedy",
        "to apology (min)",
        "to recovery (h)",
        "time held (h)",
        "compensation spent",
        "to approval (h, median/p90)",
        "approvals pending",
        "erased (on request/by retention)",
    ):
        table.add_column(header, justify="left" if header == "group" else "right")

    def fmt(value: float | None, suffix: str = "") -> str:
        return "-" if value is None else f"{value:g}{suffix}"

    for row in rows:
        table.add_row(
            row.group,
            str(row.incidents),
            str(row.active),
            str(row.closed),
            str(row.released),
            fmt(row.recovery_score),
            fmt(row.pushes_per_incident),
            fmt(row.handoffs_per_incident),
            fmt(row.deadlines_kept_pct, "%"),
            fmt(row.first_contact_full_remedy_pct, "%"),
            fmt(row.median_minutes_to_apology),
            fmt(row.median_hours_to_full_recovery),
            fmt(row.hours_held) + (f" ({row.on_hold} on hold)" if row.on_hold else ""),
            "; ".join(f"{v:.2f} {cur}" for cur, v in sorted(row.compensation_spent.items())) or "-",
            (
                f"{fmt(row.median_hours_to_approval)}/{fmt(row.p90_hours_to_approval)}"
                if row.approvals_decided
                else "-"
            ),
            str(row.approvals_pending),
            f"{row.erased_on_request}/{row.erased_by_retention}",
        )
    out = console()
    out.print(table)
    asked = sum(row.erased_on_request for row in rows)
    expired = sum(row.erased_by_retention for row in rows)
    out.print(
        f"Personal data erased in the period: {asked + expired} incident(s) "
        f"({asked} on request, {expired} by retention)"
    )
