"""The board: open incidents at the viewer's properties, nearest deadline first."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.state import iso
from recovery.http.web.context import signed_in, web
from recovery.http.web.present import board_row
from recovery.http.web.responses import WebRoute, render
from recovery.service.engine import IncidentView

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/", response_model=None)
async def board(
    request: Request,
    site: str = "",
    playbook: str = "",
    owner: str = "",
    ended: str = "",
) -> Response:
    viewer = await signed_in(request)
    ctx = web(request)
    if not viewer.can_read:
        return render(request, "home_admin.html", viewer)
    site, playbook, owner = site.strip()[:200], playbook.strip()[:80], owner.strip()[:200]
    rec = ctx.api.rec
    views: list[IncidentView] = []
    if not site or viewer.may_see(site):
        views = await ctx.api.runner.read(
            rec.list_incidents,
            active_only=ended != "1",
            site=site or None,
            sites=None if viewer.all_sites else list(viewer.sites),
            playbook=playbook or None,
            owner=owner or None,
            limit=500,
        )
    now_iso = iso(ctx.now())
    rows = [board_row(v, rec.playbook_of(v.state), now_iso, viewer.role) for v in views]
    rows.sort(key=lambda r: (r.next_due is None, r.next_due or "", r.id))
    return render(
        request,
        "board.html",
        viewer,
        rows=rows,
        filters={"site": site, "playbook": playbook, "owner": owner, "ended": ended == "1"},
        playbooks=[(c.playbook.id, c.playbook.title) for c in rec.catalog.latest()],
        owners=sorted({r.owner for r in rows} | ({owner} if owner else set())),
        overdue=sum(1 for r in rows if r.overdue),
        now_iso=now_iso,
    )
