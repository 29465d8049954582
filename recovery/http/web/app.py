"""Mount the web face on the app: its routes, static files and context (over the shared one)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from recovery.config import Settings
from recovery.http.context import ApiContext
from recovery.http.web import audit, pages, playbooks, status
from recovery.http.web.core import STATIC, WebContext, asset_version, make_environment


def install(app: FastAPI, *, zone: ZoneInfo | None = None) -> None:
    api: ApiContext = app.state.ctx
    display_zone = zone or ZoneInfo(Settings.from_env().letter_timezone)
    app.state.web = WebContext(
        api=api,
        links=api.links,
        env=make_environment(display_zone),
        zone=display_zone,
        asset_version=asset_version(),
    )
    app.include_router(pages.router)
    app.include_router(audit.router)
    app.include_router(playbooks.router)
    app.include_router(status.router)
    app.include_router(pages.fallback)  # last: any other /web/... page is "not found"
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
