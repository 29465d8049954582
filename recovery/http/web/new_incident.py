"""Opening an incident: the keyboard-first form, and the command it sends (a refused one
shows the form again, filled in as it was sent)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from recovery.catalog import Catalog
from recovery.domain.commands import OpenIncident
from recovery.domain.words import say
from recovery.errors import CommandRejectedError, UnknownPlaybookError
from recovery.http.web.context import CHANNEL_COOKIE, Viewer, signed_in, web
from recovery.http.web.forms import read_form
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES
from recovery.http.web.present import CHANNELS, cue_choices
from recovery.http.web.responses import WebRoute, redirect, render
from recovery.http.web.shared import incident_url, validation_message
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def type_choices(
    catalog: Catalog, used: dict[str, int]
) -> tuple[list[tuple[str, list[str]]], str | None]:
    """The incident types to offer, grouped under their playbook's title, each once; and the
    one to preselect. Types apply to a desk's properties by their industry (the part
    before the dot, `hotel` of `hotel.walked_guest`): those of the types already opened
    there. A property with no incident yet is offered every type, and none preselected,
    so no other industry's type is ever the default."""
    industries = {kind.partition(".")[0] for kind in used}
    groups: dict[str, list[str]] = {}
    for kind in catalog.incident_types():
        if industries and kind.partition(".")[0] not in industries:
            continue
        title = catalog.for_incident_type(kind).said.title
        groups.setdefault(title, []).append(kind)
    usual = max(used, key=lambda kind: (used[kind], kind)) if used else None
    return sorted(groups.items()), usual


async def _new_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    rec = web(request).api.rec
    used = await web(request).api.runner.read(
        rec.log.incident_types, sites=None if viewer.all_sites else list(viewer.sites)
    )
    groups, usual = type_choices(rec.catalog, used)
    defaults = {"channel": viewer.channel, "customer.language": "en"}
    if usual is not None:
        defaults["incident_type"] = usual
    if not viewer.all_sites and len(viewer.sites) == 1:
        defaults["site"] = viewer.sites[0]
    return render(
        request,
        "new.html",
        viewer,
        status,
        type_groups=groups,
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
    return await _new_page(request, viewer)


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
            "key": form.text("customer.key"),
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
            customer_summary=form.text("customer_summary"),
            external_ref=form.text("external_ref"),
        )
    except ValidationError as exc:
        message, where = validation_message(exc)
        return await _new_page(
            request, viewer, values=values, error=message, error_field=where, status=422
        )
    if not viewer.may_see(command.site):
        places = "every property" if viewer.all_sites else ", ".join(viewer.sites)
        return await _new_page(
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
        return await _new_page(
            request, viewer, values=values, error=str(exc), error_field="incident_type", status=422
        )
    except CommandRejectedError as exc:
        return await _new_page(
            request, viewer, values=values, error=str(exc), error_field=exc.field, status=422
        )
    ctx.api.sites.put(outcome.id, command.site)
    steps = len(outcome.incident.state.steps)
    # The customer's status link, shown where staff land: give it now, not later.
    token = await ctx.api.runner.write(ctx.links.create, outcome.id, viewer.name, ctx.now())
    response = redirect(
        incident_url(outcome.id),
        say(
            "Incident opened: all {count} steps are open at once. The customer's status page "
            "(shown this once; send it from the Customer status page panel):",
            count=steps,
        ),
        link=f"{ctx.links.public_url or str(request.base_url).rstrip('/')}/status/{token}",
    )
    response.set_cookie(
        CHANNEL_COOKIE, channel, max_age=86400 * 365, httponly=True, samesite="strict", path="/"
    )
    return response
