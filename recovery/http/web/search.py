"""Search: one box in the header finds an incident, open or ended, by its customer's name,
contact, its id or its external reference (reservation, account or case number)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.search import MIN_QUERY
from recovery.domain.state import iso
from recovery.http.web.context import signed_in, web
from recovery.http.web.present import board_row
from recovery.http.web.responses import WebRoute, redirect, render
from recovery.http.web.shared import incident_url

router = APIRouter(route_class=WebRoute, include_in_schema=False)

LIMIT = 50


@router.get("/web/search", response_model=None)
async def search(request: Request, q: str = "") -> Response:
    viewer = await signed_in(request)
    ctx = web(request)
    if not viewer.can_read:
        return render(request, "home_admin.html", viewer)
    query = " ".join(q.split())[:100]
    rec = ctx.api.rec
    views = []
    if len(query) >= MIN_QUERY:
        views = await ctx.api.runner.read(
            rec.search,
            query,
            sites=None if viewer.all_sites else list(viewer.sites),
            limit=LIMIT,
        )
    if len(views) == 1 and views[0].id.casefold() == query.casefold():
        return redirect(incident_url(views[0].id))  # an exact id: straight to it
    now_iso = iso(ctx.now())
    found = [(board_row(v, rec.playbook_of(v.state), now_iso), v.state) for v in views]
    return render(
        request,
        "search.html",
        viewer,
        query=query,
        too_short=0 < len(query) < MIN_QUERY,
        found=found,
        limit=LIMIT,
    )
