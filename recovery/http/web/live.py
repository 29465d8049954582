"""Live pages: server-sent events telling an open page that what it shows changed.

`GET /live/board` streams a `change` event for every incident recorded at the viewer's
properties; `GET /live?incident=ID` for that incident, plus `header` events when an
approval may have come or gone for a manager. Both send `header` when the viewer was
notified of something. `static/app.js` then fetches the page again and swaps the regions
that changed (never a form being typed in). The process has ONE reader of the database's
changes (`service.changes.ChangeFeed`); pages without JavaScript work as before.

The header's counts are kept here too, from the same feed: steps awaiting approval
(`service.approvals.PendingApprovals`) and unread notifications per person.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from recovery.domain.checks import APPROVER_ROLES
from recovery.http.web.context import Viewer, signed_in
from recovery.http.web.errors import PageError
from recovery.http.web.notifications import UnreadCounts
from recovery.http.web.responses import WebRoute
from recovery.http.web.shared import visible_incident
from recovery.http.web.translations import N_
from recovery.service.approvals import PendingApprovals
from recovery.service.changes import EVERYTHING, ChangeFeed
from recovery.service.ports.changes import Change
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

MAX_STREAMS = 200  # open pages per process; more are told to come back later
HEARTBEAT_SECONDS = 15.0  # a comment line: proxies keep the connection, dead ones show
STREAM_SECONDS = 300.0  # then the browser reconnects (EventSource does it by itself)
RETRY_MS = 1000


@dataclass
class Live:
    feed: ChangeFeed
    approvals: PendingApprovals
    streams: int = 0


def live(request: Request) -> Live:
    found: Live = request.app.state.live
    return found


def install(app: FastAPI) -> None:
    """The change feed and the approvals index over the app's engine; closed with it."""
    rec = app.state.ctx.rec
    feed = ChangeFeed(rec.storage.changes, max_listeners=MAX_STREAMS + 8)
    approvals = PendingApprovals(rec, feed)
    unread = app.state.unread = UnreadCounts(rec.storage.notifications)
    app.state.live = Live(feed, approvals)
    env = app.state.web.env.globals
    # the feed's generation at render: `?since=` tells a page that connects late what it missed
    env["live_since"] = lambda: feed.generation
    env["awaiting_me"] = lambda viewer: approvals.count(viewer.role, viewer.sites)
    env["unread_notices"] = lambda viewer: unread.count(viewer.name)

    def told(changes: Sequence[Change]) -> None:
        for change in changes:
            if change == EVERYTHING:
                unread.clear()
            elif change.recipient:
                unread.forget(change.recipient)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(target: FastAPI) -> AsyncIterator[None]:
        async with inner(target):
            # start hearing changes (and count approvals) before the first page renders;
            # the counts first: a page told of a change then reads them fresh
            feed.listen(told)
            await run_in_threadpool(approvals.warm)
            try:
                yield
            finally:
                feed.close()

    app.router.lifespan_context = lifespan
    app.include_router(router)


def _events(
    viewer: Viewer, incident_id: str | None, changes: Sequence[Change]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for change in changes:
        if change.recipient:  # someone was notified: their header changes
            if change.recipient == viewer.name:
                out.append(("header", change.incident_id))
            continue
        everywhere = change == EVERYTHING
        at_my_site = everywhere or viewer.may_see(change.site)
        if incident_id is None:
            if at_my_site:
                out.append(("change", change.incident_id))
        elif everywhere or change.incident_id == incident_id:
            out.append(("change", change.incident_id))
        elif at_my_site and viewer.role in APPROVER_ROLES:
            out.append(("header", change.incident_id))
    return out


async def _stream(
    request: Request, viewer: Viewer, incident_id: str | None, since: int | None
) -> Response:
    state = live(request)
    if state.streams >= MAX_STREAMS:
        return Response(
            "too many open live pages; the page still works, reload it to see changes",
            status_code=503,
            headers={"Retry-After": "30"},
        )
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[list[tuple[str, str]]] = asyncio.Queue(maxsize=64)

    def offer(batch: list[tuple[str, str]]) -> None:
        if queue.full():  # a page this far behind just needs one more look
            return
        queue.put_nowait(batch)

    def on_changes(changes: Sequence[Change]) -> None:
        batch = _events(viewer, incident_id, changes)
        if batch:
            loop.call_soon_threadsafe(offer, batch)

    stop = state.feed.listen(on_changes)
    if stop is None:
        return Response("live updates are off", status_code=503, headers={"Retry-After": "30"})
    state.streams += 1
    if since is not None and since != state.feed.generation:  # missed since the render
        offer([("change", incident_id or "*")])

    async def body() -> AsyncIterator[bytes]:
        try:
            yield f"retry: {RETRY_MS}\n: live\n\n".encode()
            deadline = loop.time() + STREAM_SECONDS
            while loop.time() < deadline:
                try:
                    batch = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield b": ping\n\n"
                    continue
                for name in ("change", "header"):
                    ids = sorted({key for kind, key in batch if kind == name})
                    if ids:
                        data = orjson.dumps({"incidents": ids}).decode()
                        yield f"event: {name}\ndata: {data}\n\n".encode()
        finally:
            stop()
            state.streams -= 1

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/live/board", response_model=None)
async def board_changes(request: Request, since: int | None = None) -> Response:
    viewer = await signed_in(request, Permission.READ)
    return await _stream(request, viewer, None, since)


@router.get("/live", response_model=None)
async def incident_changes(
    request: Request, incident: str = "", since: int | None = None
) -> Response:
    viewer = await signed_in(request, Permission.READ)
    if not incident:
        raise PageError(400, N_("Which incident?"), N_("Give ?incident=ID, or use /live/board."))
    view = await visible_incident(request, viewer, incident)  # 404 outside the viewer's scope
    return await _stream(request, viewer, view.state.id, since)
