"""The FastAPI application: `create_app(services)` serves both faces, the JSON API and the
web pages, over the services `recovery.bootstrap` builds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response

from recovery.bootstrap import Services, services
from recovery.config import Settings
from recovery.http.api import (
    admin,
    incident_commands,
    incidents,
    links,
    playbooks,
    privacy,
    reports,
    sessions,
    webhooks,
)
from recovery.http.api.examples import DESCRIPTION
from recovery.http.api.schemas import ErrorRead, HealthRead
from recovery.http.auth.deps import install_session_cookie_docs
from recovery.http.context import ApiContext
from recovery.http.docs import install_docs
from recovery.http.errors import JSON, UNAVAILABLE_HEADERS, api_error, install_error_handlers
from recovery.http.idempotency import Idempotency
from recovery.http.limits import BodyLimit, document_body_limit
from recovery.http.probes import install_probes
from recovery.http.runner import Runner
from recovery.http.web.app import install as install_web
from recovery.service.engine import Recovery

API_VERSION = "1.0.0"


def create_app(
    target: Services | Recovery,
    *,
    dispose_on_shutdown: bool = False,
    max_body_bytes: int | None = None,
) -> FastAPI:
    """The app over `target`'s services (for a bare `Recovery`, those `bootstrap.services`
    builds over it: its database holds the users, tokens and keys too). Request bodies
    over `max_body_bytes` (default: RECOVERY_MAX_BODY_BYTES, 1 MiB) are refused with 413."""
    settings = Settings.from_env()
    if max_body_bytes is None:
        max_body_bytes = settings.max_body_bytes
    built = services(target) if isinstance(target, Recovery) else target
    storage = built.storage
    ctx = ApiContext(
        rec=built.recovery,
        accounts=built.accounts,
        links=built.links,
        idempotency=Idempotency(
            storage.idempotency, built.clock, die_after_commit=settings.fault_die_after_commit
        ),
        runner=Runner(serial_writes=storage.serial_writes, deferred=storage.deferred_sync),
        clock=built.clock,
        webhooks=built.webhooks,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.runner.close()
        if dispose_on_shutdown:
            built.dispose()

    app = FastAPI(
        title="recovery",
        version=API_VERSION,
        summary="Service-recovery playbook engine: open the whole recovery bundle at once.",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served below from files installed with the package, not a CDN
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = install_session_cookie_docs(FastAPI.openapi(app))
            app.openapi_schema = document_body_limit(schema, max_body_bytes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    install_error_handlers(app)
    app.include_router(incident_commands.router)  # then the queries (the API document order)
    app.include_router(incidents.router)
    app.include_router(links.router)
    app.include_router(playbooks.router)
    app.include_router(reports.router)
    app.include_router(sessions.router)
    app.include_router(admin.router)
    app.include_router(webhooks.router)
    app.include_router(privacy.router)
    install_web(app)  # the web page at / (recovery.http.web); JSON routes keep their paths
    install_docs(app)
    install_probes(app, ctx, storage)  # /ready, /metrics and the request measurements

    health_responses: dict[int | str, dict[str, Any]] = {
        503: {"model": ErrorRead, "description": "the database does not answer"},
    }

    @app.get(
        "/health",
        tags=["health"],
        summary="Is the engine up and its database reachable",
        response_model=HealthRead,
        responses=health_responses,
    )
    async def health(request: Request) -> Response:
        try:
            await ctx.runner.read(storage.ping)
        except Exception:
            error = api_error(503, "unavailable", "the database does not answer")
            error.headers.update(UNAVAILABLE_HEADERS)
            raise error from None
        return JSON({"status": "ok", "database": storage.name})

    return app
