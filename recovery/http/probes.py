"""`/ready` and `/metrics`: what a load balancer and a monitoring system ask a server.

`/health` (in app.py) says the process is up and its database answers; `/ready` also says
the schema is the one this code was written for, so a proxy sends no traffic to a server
started before `recovery db upgrade` ran (or after its SQLite file went away)."""

from __future__ import annotations

import os
from typing import Any, Literal

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from recovery.http.api.schemas import ErrorRead, ReadModel
from recovery.http.context import ApiContext
from recovery.http.errors import JSON, UNAVAILABLE_HEADERS
from recovery.http.metrics import MeasureRequests, Metrics
from recovery.service.ports import Storage


class ReadyRead(ReadModel):
    status: Literal["ready"]
    database: str


def not_ready(storage: Storage) -> str | None:
    """Why this server should not take traffic, or None when it may."""
    path = storage.file_path()
    if path is not None and not os.access(path, os.R_OK | os.W_OK):
        return f"the database file {path} is missing or not readable and writable"
    try:
        storage.ping()
        current = storage.current_revision()
    except Exception:
        return "the database does not answer"
    head = storage.head_revision()
    if current != head:
        return (
            f"the database schema is at revision {current}, this code needs {head} "
            "(`recovery db upgrade` brings an older schema to it)"
        )
    return None


def install_probes(app: FastAPI, ctx: ApiContext, storage: Storage) -> None:
    """Adds /ready and /metrics, and the middleware that measures every request."""
    metrics = Metrics(storage, ctx.clock)
    app.add_middleware(MeasureRequests, metrics=metrics)
    app.state.metrics = metrics
    ready_responses: dict[int | str, dict[str, Any]] = {
        503: {"model": ErrorRead, "description": "not ready: the reason is in `message`"},
    }

    @app.get(
        "/ready",
        tags=["health"],
        summary="May this server take traffic: database answers, schema at the newest revision",
        response_model=ReadyRead,
        responses=ready_responses,
    )
    async def ready() -> Response:
        reason = await ctx.runner.read(not_ready, storage)
        if reason is not None:
            body = {"error": "not_ready", "message": reason}
            return JSON(body, status_code=503, headers=UNAVAILABLE_HEADERS)
        return JSON({"status": "ready", "database": storage.name})

    @app.get(
        "/metrics",
        tags=["health"],
        summary="This process's counters in the Prometheus text format",
        response_class=Response,
        include_in_schema=False,  # not JSON; described in docs/production.md
    )
    async def prometheus() -> Response:
        text = await ctx.runner.read(generate_latest, metrics.registry)
        return Response(text, media_type=CONTENT_TYPE_LATEST)
