"""Mount the web face on the app: its routes, static files and context (over the shared one)."""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from recovery.config import Settings
from recovery.domain.calendar import ALWAYS_OPEN
from recovery.http.context import ApiContext
from recovery.http.web import (
    admin,
    approvals,
    audit,
    board,
    customers,
    incident,
    incident_actions,
    letters,
    live,
    new_incident,
    notifications,
    playbooks,
    preferences,
    reports,
    search,
    signin,
    status,
)
from recovery.http.web.context import STATIC, WebContext, asset_version, make_environment
from recovery.http.web.errors import not_found
from recovery.http.web.responses import WebRoute

fallback = APIRouter(route_class=WebRoute, include_in_schema=False)


@fallback.api_route("/web/{rest:path}", methods=["GET", "POST"], response_model=None)
async def no_such_page(request: Request, rest: str) -> Response:
    """Any other address under /web: a page that says so (the JSON API keeps its 404s)."""
    raise not_found("page")


def _zone_of(api: ApiContext) -> Callable[[str], ZoneInfo | None]:
    sites = api.rec.sites

    def zone_of(site: str) -> ZoneInfo | None:
        calendar = sites.calendar(site)
        return None if calendar is ALWAYS_OPEN else calendar.zone

    return zone_of


def install(app: FastAPI, *, zone: ZoneInfo | None = None) -> None:
    api: ApiContext = app.state.ctx
    display_zone = zone or ZoneInfo(Settings.from_env().letter_timezone)
    app.state.web = WebContext(
        api=api,
        links=api.links,
        env=make_environment(display_zone, _zone_of(api)),
        zone=display_zone,
        asset_version=asset_version(),
    )
    # In this order: the first route that matches answers (`/web/incidents/new` before
    # `/web/incidents/{incident_id}`, the status links before `/{command}`).
    app.include_router(signin.router)
    app.include_router(board.router)
    app.include_router(search.router)
    app.include_router(new_incident.router)
    app.include_router(incident.router)
    app.include_router(incident_actions.router)
    app.include_router(letters.router)
    app.include_router(audit.router)
    app.include_router(reports.router)
    app.include_router(admin.router)
    app.include_router(playbooks.router)
    app.include_router(status.router)
    app.include_router(customers.router)
    app.include_router(approvals.router)
    app.include_router(notifications.router)
    app.include_router(preferences.router)
    live.install(app)  # the change feed, /live streams, and what the header counts
    app.include_router(fallback)  # last: any other /web/... page is "not found"
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
