"""A person's notifications: what needs them, newest first; marked read by them alone.
The header shows how many are unread (counted once per person and change, in memory)."""

from __future__ import annotations

import threading

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.words import say
from recovery.http.web.context import signed_in, web
from recovery.http.web.errors import BadForm
from recovery.http.web.forms import read_form
from recovery.http.web.responses import WebRoute, redirect, render
from recovery.http.web.translations import N_
from recovery.service.notifications import KINDS
from recovery.service.ports.notifications import NotificationStore

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PAGE = "/web/notifications"
SHOWN = 200


class UnreadCounts:
    """Unread notifications per person, read from the store on first need and again
    after the change feed says that person was told something (or they read some)."""

    def __init__(self, store: NotificationStore, size: int = 10_000) -> None:
        self._store = store
        self._size = size
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def count(self, person: str) -> int:
        found = self._counts.get(person)
        if found is None:
            found = self._store.unread_count(person)  # one indexed count
            with self._lock:
                if len(self._counts) >= self._size:
                    self._counts.clear()
                self._counts[person] = found
        return found

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

    def forget(self, person: str) -> None:
        with self._lock:
            self._counts.pop(person, None)


def unread(request: Request) -> UnreadCounts:
    found: UnreadCounts = request.app.state.unread
    return found


@router.get(PAGE, response_model=None)
async def notifications(request: Request) -> Response:
    viewer = await signed_in(request)
    ctx = web(request)
    store = ctx.api.rec.storage.notifications
    notices = await ctx.api.runner.read(store.list, viewer.name, limit=SHOWN)
    me = await ctx.api.runner.read(ctx.api.accounts.user, viewer.name)
    return render(request, "notifications.html", viewer, notices=notices, kinds=KINDS, me=me)


@router.post(PAGE + "/email", response_model=None)
async def set_email(request: Request) -> Response:
    """The person's own choice: their notifications mailed to an address, or not."""
    viewer = await signed_in(request)
    form = await read_form(request, viewer.csrf)
    email = form.get("email").strip()
    if len(email) > 400:
        raise BadForm(N_("email is longer than 400 characters"), "email")
    wanted = form.text("notify_by_email") is not None
    ctx = web(request)
    if viewer.principal.kind != "user":
        raise BadForm(N_("Only a person signed in with a password has an e-mail address here."))
    await ctx.api.runner.write(ctx.api.accounts.set_email, viewer.name, email, wanted)
    return redirect(PAGE, N_("Your notifications are mailed to you.") if wanted else N_("Saved."))


@router.post(PAGE + "/read", response_model=None)
async def mark_read(request: Request) -> Response:
    viewer = await signed_in(request)
    form = await read_form(request, viewer.csrf)
    raw = form.text("id")
    ids: list[int] | None = None
    if raw is not None:
        if not raw.isdigit() or len(raw) > 18:
            raise BadForm(f"Which notification? {raw[:40]!r} is not one", "id")
        ids = [int(raw)]
    ctx = web(request)
    store = ctx.api.rec.storage.notifications
    marked = await ctx.api.runner.write(store.mark_read, viewer.name, ids, ctx.now())
    unread(request).forget(viewer.name)
    return redirect(
        PAGE, say("{count} marked read.", count=marked) if marked != 1 else N_("Marked read.")
    )
