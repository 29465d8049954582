"""The auditor's pages: an incident's state as of any moment (a slider over its events, or
a time), the result of verifying its hash chain, and exports.

Read-only: nothing here changes an incident. Exports carry every event with its hashes and
`data` exactly as stored (the text the hash covers), so each line verifies on its own, as
`Recovery.export_events` writes them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from tempfile import SpooledTemporaryFile
from typing import Any, BinaryIO, cast

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from recovery.audit import ExportFilter
from recovery.domain.apply import replay
from recovery.domain.queries import resolved_states
from recovery.domain.state import Event, IncidentState, iso
from recovery.domain.words import say
from recovery.errors import IntegrityError
from recovery.http.web.context import signed_in, web
from recovery.http.web.errors import PageError, not_found
from recovery.http.web.present import STEP_STATUS, describe, humanise
from recovery.http.web.present_steps import step_evidence
from recovery.http.web.responses import WebRoute, page_locale, render
from recovery.http.web.shared import visible_incident
from recovery.http.web.translations import N_, translate
from recovery.service.engine import Recovery
from recovery.service.principal import Permission
from recovery.service.reports import recovery_score

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/web/audit", response_model=None)
async def audit_index(request: Request) -> Response:
    viewer = await signed_in(request, Permission.READ)
    ctx = web(request)
    views = await ctx.api.runner.read(
        ctx.api.rec.list_incidents,
        active_only=False,
        sites=None if viewer.all_sites else list(viewer.sites),
        limit=500,
    )
    views.sort(key=lambda v: v.state.opened_at, reverse=True)
    return render(request, "audit_index.html", viewer, views=views)


def _moment(value: str, zone: Any) -> datetime:
    """A time from the picker (local to the display zone) or ISO 8601 with an offset."""
    text = value.strip().replace(" ", "T")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise PageError(
            400,
            N_("Not a time"),
            say("“{value}” is not a time like 2026-07-04T14:05", value=value[:40]),
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


@router.get("/web/audit/{incident_id}", response_model=None)
async def audit_incident(
    request: Request, incident_id: str, seq: str = "", at: str = ""
) -> Response:
    viewer = await signed_in(request, Permission.READ)
    ctx = web(request)
    rec = ctx.api.rec
    view = await visible_incident(request, viewer, incident_id)
    compiled = rec.playbook_of(view.state)
    events, unreadable = await ctx.api.runner.read(_readable_events, rec, incident_id)
    verification = await ctx.api.runner.read(rec.verify, incident_id)
    last = events[-1].seq if events else 0
    chosen = last
    moment: datetime | None = None
    state: IncidentState | None = None
    notice: str | None = None
    if unreadable is not None:
        # The auditor sees where the log breaks and what comes before it, not an error page.
        notice = f"Only the events before event {unreadable.seq} can be shown: {unreadable}."
    elif at.strip():
        moment = _moment(at, ctx.zone)
        cutoff = iso(moment)
        before = [e for e in events if e.recorded_at <= cutoff]
        if before:
            chosen = before[-1].seq
        else:
            chosen = 0
            notice = "The incident had not been opened yet at that moment."
    elif seq.strip():
        if not seq.strip().isdigit():
            raise PageError(
                400,
                N_("Not an event number"),
                say("“{value}” is not an event number", value=seq[:40]),
            )
        chosen = min(max(int(seq), 1), last)
    if chosen:
        # Replayed from the events already read, through the version the incident pinned.
        pinned = rec.pinned_playbook(events[0].playbook_id, events[0].playbook_version)
        upto = [e for e in events if e.seq <= chosen]
        state = await ctx.api.runner.read(replay, pinned, upto)
    entries = [describe(e, compiled) for e in events]
    locale = page_locale(request, viewer)  # the slider's words are read by the script
    when_full = ctx.env.filters["when_full"]  # with no page context: the server's zone
    events_json = orjson.dumps(
        [{"title": translate(locale, e.title), "at": when_full({}, e.at)} for e in entries]
    ).decode()
    steps = []
    if state is not None:
        resolved = resolved_states(compiled)
        for step in state.steps.values():
            steps.append(
                {
                    "id": step.id,
                    "title": compiled.said.step_title(step.id),
                    "owner": compiled.said.role(step.owner),
                    "status": STEP_STATUS.get(step.status, humanise(step.status)),
                    "resolved": step.status in resolved[step.kind],
                    "due_at": step.due_at,
                    "late": step.late,
                    "missed": step.missed,
                    "pushed": step.pushed,
                    "evidence": step_evidence(compiled, step),
                }
            )
    return render(
        request,
        "audit.html",
        viewer,
        view=view,
        playbook=compiled.playbook,
        playbook_title=compiled.said.title,
        verification=verification,
        entries=entries,
        events_json=events_json,
        chosen=chosen,
        last=last,
        at_event=events[chosen - 1] if chosen else None,
        moment=iso(moment) if moment else None,
        state=state,
        steps=steps,
        score=recovery_score(state) if state is not None else None,
        notice=notice,
        first_at=events[0].recorded_at if events else view.state.opened_at,
        last_at=events[-1].recorded_at if events else view.state.opened_at,
    )


def _readable_events(rec: Recovery, incident_id: str) -> tuple[list[Event], IntegrityError | None]:
    """The incident's events; when one is unreadable, those before it and the error."""
    try:
        return rec.timeline(incident_id), None
    except IntegrityError as exc:
        if exc.seq is None or exc.seq <= 1:
            return [], exc
        return rec.timeline(incident_id, upto_seq=exc.seq - 1), exc


@router.get("/web/audit/{incident_id}/events.{fmt}", response_model=None)
async def export_incident(request: Request, incident_id: str, fmt: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    if fmt not in ("jsonl", "csv"):
        raise not_found("export")
    await visible_incident(request, viewer, incident_id)
    ctx = web(request)
    where = ExportFilter(incident_id=incident_id)
    spool = await ctx.api.runner.read(_spool, ctx.api.rec, fmt, where)
    return _download(spool, fmt, f"{incident_id}-events.{fmt}")


@router.get("/web/audit/{incident_id}/verification.json", response_model=None)
async def export_verification(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    await visible_incident(request, viewer, incident_id)
    ctx = web(request)
    result = await ctx.api.runner.read(ctx.api.rec.verify, incident_id)
    body = {**result.to_dict(), "verified_at": iso(ctx.now()), "verified_by": viewer.name}
    return Response(
        orjson.dumps(body, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{incident_id}-verification.json"'},
    )


def _spool(rec: Recovery, fmt: str, where: ExportFilter) -> SpooledTemporaryFile[bytes]:
    """The export written to a spool (memory, then a temporary file past 8 MB)."""
    spool = SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    rec.export_events(cast(BinaryIO, spool), "jsonl" if fmt == "jsonl" else "csv", where)
    spool.seek(0)
    return spool


def _chunks(spool: SpooledTemporaryFile[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(64 * 1024):
            yield chunk
    finally:
        spool.close()


@router.get("/web/export", response_model=None)
async def export_site(request: Request, site: str = "", format: str = "jsonl") -> Response:
    """Every event at one property (or every property, for an auditor of all of them)."""
    viewer = await signed_in(request, Permission.READ)
    fmt = format if format in ("jsonl", "csv") else "jsonl"
    site = site.strip()
    if not site and not viewer.all_sites:
        raise PageError(
            400, N_("Choose a property"), N_("Choose one of your properties to export.")
        )
    if site and not viewer.may_see(site):
        raise not_found("property")
    ctx = web(request)
    spool = await ctx.api.runner.read(_spool, ctx.api.rec, fmt, ExportFilter(site=site or None))
    return _download(spool, fmt, f"events-{site or 'all'}.{fmt}".replace('"', ""))


def _download(spool: SpooledTemporaryFile[bytes], fmt: str, name: str) -> Response:
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv; charset=utf-8"
    return StreamingResponse(
        _chunks(spool),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


__all__ = ["router"]
