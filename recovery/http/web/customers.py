"""The customer across incidents: their page (every incident in one timeline,
compensation given, pushes, open promises) and the recent history every incident page
shows at its top, so nobody asks the customer to tell the story again."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.customers import customer_key_of
from recovery.domain.state import IncidentState, iso
from recovery.http.web.context import Viewer, signed_in, web
from recovery.http.web.errors import not_found
from recovery.http.web.responses import WebRoute, render
from recovery.service.customers import CustomerView
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

RECENT = 3  # incidents an incident page shows at its top


def _sites(viewer: Viewer) -> list[str] | None:
    return None if viewer.all_sites else list(viewer.sites)


async def recent_history(
    request: Request, viewer: Viewer, state: IncidentState
) -> tuple[str, CustomerView] | None:
    """The customer's other incidents at the viewer's properties (None: none, or no key)."""
    key = customer_key_of(state.customer)
    if key is None:
        return None
    ctx = web(request)
    now = iso(ctx.now())
    view = await ctx.api.runner.read(
        lambda: ctx.api.rec.customer(key, sites=_sites(viewer), now=now, exclude=state.id)
    )
    return (key, view) if view.incidents else None


@router.get("/web/customers/{key}", response_model=None)
async def customer_page(request: Request, key: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    if not key.strip() or len(key) > 200 or any(ord(c) < 32 for c in key):
        raise not_found("customer")
    ctx = web(request)
    now = iso(ctx.now())
    view = await ctx.api.runner.read(
        lambda: ctx.api.rec.customer(key, sites=_sites(viewer), now=now)
    )
    if not view.incidents:
        raise not_found("customer")
    # each time in its incident's property zone, marked
    site_of = {line.incident_id: line.site for line in view.incidents}
    return render(request, "customer.html", viewer, customer=view, now_iso=now, site_of=site_of)
