"""The FastAPI application: `create_app(rec)` binds the HTTP API to one engine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy import text
from starlette.responses import Response

from recovery.http.api import incidents, playbooks, reports
from recovery.http.api.examples import DESCRIPTION
from recovery.http.api.schemas import ErrorRead, HealthRead
from recovery.http.auth import admin as admin_routes
from recovery.http.auth import routes as auth_routes
from recovery.http.auth.deps import install_session_cookie_docs
from recovery.http.context import ApiContext
from recovery.http.errors import JSON, api_error, install_error_handlers
from recovery.http.idempotency import Idempotency
from recovery.http.runner import Runner
from recovery.http.web.app import install as install_web
from recovery.service.accounts import Accounts
from recovery.service.engine import Recovery
from recovery.storage.auth import AuthStore
from recovery.storage.database import reading

API_VERSION = "1.0.0"


def create_app(
    rec: Recovery,
    *,
    clock: Callable[[], datetime] | None = None,
    token_cache_seconds: float = 30.0,
    dispose_on_shutdown: bool = False,
) -> FastAPI:
    """The HTTP/JSON API over `rec` (its database holds the users, tokens and keys too)."""
    now = clock or rec.clock
    store = AuthStore(rec.engine)
    ctx = ApiContext(
        rec=rec,
        accounts=Accounts(store, now, cache_ttl=token_cache_seconds),
        auth_store=store,
        idempotency=Idempotency(store, now),
        runner=Runner(serial_writes=rec.engine.dialect.name == "sqlite"),
        clock=now,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.runner.close()
        if dispose_on_shutdown:
            rec.dispose()

    app = FastAPI(
        title="recovery",
        version=API_VERSION,
        summary="Service-recovery playbook engine: open the whole recovery bundle at once.",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.ctx = ctx

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = install_session_cookie_docs(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_error_handlers(app)
    app.include_router(incidents.router)
    app.include_router(playbooks.router)
    app.include_router(reports.router)
    app.include_router(auth_routes.router)
    app.include_router(admin_routes.router)
    install_web(app)  # the web page at / (recovery.web); JSON routes keep their paths

    health_responses: dict[int | str, dict[str, Any]] = {
        200: {"model": HealthRead},
        503: {"model": ErrorRead, "description": "the database does not answer"},
    }

    @app.get(
        "/health",
        tags=["health"],
        summary="Is the engine up and its database reachable",
        response_model=None,
        responses=health_responses,
    )
    async def health(request: Request) -> Response:
        def ping() -> None:
            with reading(rec.engine) as conn:  # a probe must not take SQLite's write lock
                conn.execute(text("SELECT 1"))

        try:
            await ctx.runner.read(ping)
        except Exception:
            raise api_error(503, "unavailable", "the database does not answer") from None
        return JSON({"status": "ok", "database": rec.engine.dialect.name})

    return app
