"""Opening an incident: the keyboard-first form, and the command it sends (a refused one
shows the form again, filled in as it was sent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from recovery.domain.commands import OpenIncident
from recovery.errors import CommandRejectedError, UnknownPlaybookError
from recovery.http.web.context import CHANNEL_COOKIE, Viewer, signed_in, web
from recovery.http.web.forms import read_form
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES
from recovery.http.web.present import CHANNELS, cue_choices
from recovery.http.web.responses import WebRoute, redirect, render
from recovery.http.web.shared import incident_url, validation_message
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _new_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    rec = web(request).api.rec
    types = [
        (t, rec.catalog.for_incident_type(t).playbook.title) for t in rec.catalog.incident_types()
    ]
    defaults = {"channel": viewer.channel, "customer.language": "en"}
    if not viewer.all_sites and len(viewer.sites) == 1:
        defaults["site"] = viewer.sites[0]
    return render(
        request,
        "new.html",
        viewer,
        status,
        types=types,
        cues=cue_choices(rec.catalog.latest()),
        channels=CHANNELS,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        values={**defaults, **(values or {})},
        error=error,
        error_field=error_field,
    )


@router.get("/web/incidents/new", response_model=None)
async def new_incident_form(request: Request) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    return _new_page(request, viewer)


@router.post("/web/incidents/new", response_model=None)
async def new_incident(request: Request) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    form = await read_form(request, viewer.csrf)
    ctx = web(request)
    values = form.values()
    values["cues"] = form.getlist("cues")
    channel = form.get("channel", viewer.channel)
    if channel not in CHANNELS:
        channel = viewer.channel
    try:
        customer: dict[str, Any] = {
            "name": form.get("customer.name"),
            "contact": form.text("customer.contact"),
            "member_since": form.text("customer.member_since"),
            "language": form.get("customer.language", "en") or "en",
            "order_value": form.text("customer.order_value"),
        }
        command = OpenIncident(
            incident_type=form.get("incident_type"),
            site=form.get("site").strip(),
            customer={k: v for k, v in customer.items() if v is not None},
            cues=form.getlist("cues"),
            summary=form.text("summary"),
            external_ref=form.text("external_ref"),
        )
    except ValidationError as exc:
        message, where = validation_message(exc)
        return _new_page(
            request, viewer, values=values, error=message, error_field=where, status=422
        )
    if not viewer.may_see(command.site):
        places = "every property" if viewer.all_sites else ", ".join(viewer.sites)
        return _new_page(
            request,
            viewer,
            values=values,
            error=f"You may not open incidents at {command.site!r}; your properties: {places}.",
            error_field="site",
            status=403,
        )
    try:
        outcome = await ctx.api.runner.write(
            ctx.api.rec.open, command, actor=viewer.principal.actor(), channel=channel
        )
    except UnknownPlaybookError as exc:
        return _new_page(
            request, viewer, values=values, error=str(exc), error_field="incident_type", status=422
        )
    except CommandRejectedError as exc:
        return _new_page(
            request, viewer, values=values, error=str(exc), error_field=exc.field, status=422
        )
    ctx.api.sites.put(outcome.id, command.site)
    steps = len(outcome.incident.state.steps)
    response = redirect(
        incident_url(outcome.id), f"Incident opened: all {steps} steps are open at once."
    )
    response.set_cookie(
        CHANNEL_COOKIE, channel, max_age=86400 * 365, httponly=True, samesite="strict", path="/"
    )
    return response
