"""The board: open incidents at the viewer's properties, nearest deadline first."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.compiler import ACTIVE_STATES
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
    after: str = "",
) -> Response:
    viewer = await signed_in(request)
    ctx = web(request)
    if not viewer.can_read:
        return render(request, "home_admin.html", viewer)
    site, playbook, owner = site.strip()[:200], playbook.strip()[:80], owner.strip()[:200]
    rec = ctx.api.rec
    views: list[IncidentView] = []
    nxt: str | None = None
    if not site or viewer.may_see(site):
        views, nxt = await ctx.api.runner.read(
            rec.board_page,
            statuses=None if ended == "1" else ACTIVE_STATES,
            site=site or None,
            sites=None if viewer.all_sites else list(viewer.sites),
            playbook=playbook or None,
            owner=owner or None,
            after=after[:400] or None,
        )
    now_iso = iso(ctx.now())
    rows = [board_row(v, rec.playbook_of(v.state), now_iso, viewer.role) for v in views]
    kept = {"site": site, "playbook": playbook, "owner": owner, "ended": ended == "1" and "1"}
    kept = {key: value for key, value in kept.items() if value}
    return render(
        request,
        "board.html",
        viewer,
        rows=rows,
        filters={"site": site, "playbook": playbook, "owner": owner, "ended": ended == "1"},
        playbooks=[(c.playbook.id, c.said.title) for c in rec.catalog.latest()],
        owners=sorted({r.owner for r in rows} | ({owner} if owner else set())),
        overdue=sum(1 for r in rows if r.overdue),
        now_iso=now_iso,
        first_page="/?" + urlencode(kept) if after else None,
        next_page="/?" + urlencode({**kept, "after": nxt}) if nxt else None,
    )
