"""A written step's letter, as the customer receives it: print-friendly, its own page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from recovery.errors import CommandRejectedError
from recovery.http.web.context import signed_in, web
from recovery.http.web.errors import PageError
from recovery.http.web.forms import check_code
from recovery.http.web.responses import WebRoute
from recovery.http.web.shared import visible_incident
from recovery.http.web.translations import N_
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/web/incidents/{incident_id}/letters/{step}", response_model=None)
async def letter(request: Request, incident_id: str, step: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    check_code(step, "letter")
    await visible_incident(request, viewer, incident_id)
    ctx = web(request)
    try:
        html = await ctx.api.runner.read(ctx.api.rec.render_letter_html, incident_id, step)
    except CommandRejectedError as exc:
        raise PageError(404, N_("No letter"), getattr(exc, "plain", None) or str(exc)) from None
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; frame-ancestors 'none'; base-uri 'none'",
        },
    )
