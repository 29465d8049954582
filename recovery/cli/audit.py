"""`recovery audit`: prove the history was not edited, replay it, checkpoint it, export it.

    verify [--all | INCIDENT...]        every chain and a strict replay, in one streamed pass
    replay INCIDENT [--seq N | --at T]  the state as it was at an event or a moment
    keygen --out key.pem                an Ed25519 signing key for checkpoints
    checkpoint --key key.pem [--out F]  signed heads of every chain, kept outside the DB
    verify-checkpoint F --public-key P  nothing deleted or cut short since the checkpoint
    export --format jsonl|csv [...]     events with incident fields and hashes, streamed

keygen, checkpoint and verify-checkpoint are in `checkpoints.py`, registered here.
Integrity failures exit with 7 and name the incident and the first broken event.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table
from rich.text import Text

from recovery.audit import FORMATS, AuditResult, ExportFilter, Verification
from recovery.cli import checkpoints
from recovery.cli.options import (
    DbOption,
    JsonOption,
    PlaybooksOption,
    open_recovery,
    parse_moment,
)
from recovery.cli.output import console, fail, print_json, styled
from recovery.cli.render import replayed_state
from recovery.cli.streams import output_stream, progress_bar
from recovery.errors import CommandRejectedError, IncidentNotFoundError, IntegrityError

app = typer.Typer(help="Verify, replay, checkpoint and export histories.", no_args_is_help=True)

# ---------------------------------------------------------------------------- verify


@app.command()
def verify(
    incidents: Annotated[
        list[str] | None,
        typer.Argument(metavar="INCIDENT", help="Incident ids.", show_default=False),
    ] = None,
    all_incidents: Annotated[bool, typer.Option("--all", help="Verify every incident.")] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            min=1,
            max=64,
            help="Processes sharing an --all pass (default: one per CPU core).",
            show_default=False,
        ),
    ] = os.cpu_count() or 1,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Check each incident's hash chain and that replaying it rebuilds the stored state."""
    if not incidents and not all_incidents:
        raise typer.BadParameter("name incidents, or use --all", param_hint="INCIDENT")
    named = None if all_incidents else list(dict.fromkeys(incidents or []))
    with open_recovery(db, playbooks) as rec:
        auditor = rec.auditor()
        if named is None:
            with progress_bar(json_output, auditor.count_events) as advance:
                results = auditor.results(jobs=jobs)
                tally = _collect_all(_advancing(results, advance), json_output)
            if not json_output:
                _print_all(tally)
        else:
            tally = _report_named(named, list(auditor.results(named)), json_output)
    if tally.first_broken is not None:
        first = tally.first_broken
        where = f"event #{first.broken_seq}" if first.broken_seq is not None else "its state"
        fail(
            f"{tally.broken} of {tally.incidents} incident(s) do not verify; first: "
            f"{first.incident_id} at {where}: {first.problem}",
            IntegrityError.exit_code,
        )


class _Tally:
    SHOWN = 1000
    """Broken incidents kept to show in a table (all are counted, and all are in --json)."""

    def __init__(self) -> None:
        self.incidents = self.events = self.broken = self.erased = 0
        self.first_broken: Verification | None = None
        self.shown: list[Verification] = []

    def add(self, result: Verification) -> None:
        self.incidents += 1
        self.events += result.events
        if result.ok and result.erased_at is not None:
            self.erased += 1  # verifies: an erasure, never mistaken for tampering
        if not result.ok:
            self.broken += 1
            if self.first_broken is None:
                self.first_broken = result
            if len(self.shown) < self.SHOWN:
                self.shown.append(result)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.broken == 0,
            "incidents": self.incidents,
            "events": self.events,
            "broken": self.broken,
            "erased": self.erased,
        }


def _collect_all(results: Iterator[AuditResult], json_output: bool) -> _Tally:
    """Every incident, streamed: as JSON, one result per line, or only counted."""
    tally = _Tally()
    if not json_output:
        for result in results:
            tally.add(result)
        return tally
    out = sys.stdout
    out.write('{\n  "results": [')
    for result in results:
        out.write(("\n    " if not tally.incidents else ",\n    ") + _json(result.to_dict()))
        tally.add(result)
    summary = orjson.dumps(tally.to_dict()).decode()[1:-1]
    out.write(f"\n  ],\n  {summary}\n}}\n")
    return tally


def _print_all(tally: _Tally) -> None:
    """For people: the broken incidents (if any) in a table, then one summary line."""
    if tally.shown:
        title = f"{tally.broken} broken incident(s)"
        if tally.broken > len(tally.shown):
            title += f", the first {len(tally.shown)} shown"
        console().print(_results_table(title, tally.shown))
    status = Text("all verify", "green") if not tally.broken else Text("BROKEN", "bold red")
    erased = f" ({tally.erased} with personal data erased)" if tally.erased else ""
    console().print(
        Text.assemble(
            f"Verified {tally.incidents} incident(s){erased}, {tally.events} event(s): ", status
        )
    )


def _report_named(named: list[str], results: list[AuditResult], json_output: bool) -> _Tally:
    by_id = {r.incident_id: r for r in results}
    missing = [incident for incident in named if incident not in by_id]
    if missing:
        raise IncidentNotFoundError(missing[0])
    ordered = [by_id[incident] for incident in named]
    tally = _Tally()
    for result in ordered:
        tally.add(result)
    if json_output:
        print_json({**tally.to_dict(), "results": [r.to_dict() for r in ordered]})
    else:
        console().print(_results_table(f"Verified {len(ordered)} incident(s)", ordered))
    return tally


def _results_table(title: str, results: Sequence[Verification]) -> Table:
    table = Table(title=title)
    for column in ("incident", "result", "events", "broken at", "problem"):
        table.add_column(column)
    for r in results:
        table.add_row(
            styled(r.incident_id, "bold"),
            _verdict(r),
            str(r.events),
            "-" if r.broken_seq is None else f"event #{r.broken_seq}",
            styled(r.problem or ""),
        )
    return table


def _verdict(result: Verification) -> Text:
    if not result.ok:
        return Text("BROKEN", "bold red")
    if result.erased_at is not None:
        return Text(f"ok, erased on {result.erased_at[:10]}", "green")
    return Text("ok", "green")


def _json(data: Any) -> str:
    return orjson.dumps(data).decode()


def _advancing(results: Iterator[AuditResult], advance: Callable[[int], None]) -> Iterator[Any]:
    for result in results:
        advance(result.events)
        yield result


# ---------------------------------------------------------------------------- replay


@app.command()
def replay(
    incident: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    seq: Annotated[
        int | None, typer.Option("--seq", min=1, help="State after this event number.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="State at this moment (ISO 8601; UTC unless an offset)."),
    ] = None,
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Rebuild the incident's state from its events, as it was at an event or a moment."""
    if seq is not None and at is not None:
        raise typer.BadParameter("give --seq or --at, not both", param_hint="--at")
    moment = _moment(at) if at is not None else None
    with open_recovery(db, playbooks) as rec:
        state = rec.replay(incident, at_seq=seq, at_time=moment)
    if json_output:
        print_json(state.to_dict())
        return
    console().print(replayed_state(state, list(state.steps)))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO time like 2026-07-04T14:30:00Z", param_hint="--at"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------- checkpoints

checkpoints.register(app)  # keygen, checkpoint, verify-checkpoint (cli/checkpoints.py)


# ---------------------------------------------------------------------------- export


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
    site: Annotated[str | None, typer.Option("--site", help="Only this site (property).")] = None,
    playbook: Annotated[str | None, typer.Option("--playbook", help="Only this playbook.")] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Events recorded at or after (ISO date/time).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Events recorded before (ISO date/time).")
    ] = None,
    out: Annotated[
        str, typer.Option("--out", help="Output file, or - for stdout.", show_default=True)
    ] = "-",
    db: DbOption = None,
    playbooks: PlaybooksOption = None,
    json_output: JsonOption = False,
) -> None:
    """Export events with their incident's fields and hashes (one line per event), streamed."""
    if fmt not in FORMATS:
        raise CommandRejectedError(
            f"--format must be {' or '.join(FORMATS)}, not {fmt!r}", field="format"
        )
    where = ExportFilter(
        site=site,
        playbook=playbook,
        since=parse_moment(since, "since"),
        until=parse_moment(until, "until"),
    )
    target = None if out == "-" else Path(out)
    with open_recovery(db, playbooks) as rec, output_stream(target) as stream:
        summary = rec.export_events(stream, "csv" if fmt == "csv" else "jsonl", where)
    if target is None:
        return
    if json_output:
        print_json({**summary.to_dict(), "format": fmt, "out": str(target)})
        return
    console().print(
        Text.assemble(
            f"exported {summary.events} event(s) of {summary.incidents} incident(s) to ",
            (str(target), "bold"),
        )
    )
