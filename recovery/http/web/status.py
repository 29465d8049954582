"""The customer's status page: what has been done, what is next and by when, in the
customer's language, opened with the unguessable link the agent sent.

It shows only the playbook's customer texts and deadlines: no internal notes, no evidence,
no staff names, nothing of any other incident. The token is never sent on to other sites
(`Referrer-Policy: no-referrer`); it is part of the URL, so a server access log, where one
is kept, records it: keep such logs as private as the database.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from recovery.domain.calendar import ALWAYS_OPEN
from recovery.domain.state import parse_iso
from recovery.errors import CommandRejectedError, IncidentNotFoundError
from recovery.http.auth.deps import foreign_origin
from recovery.http.web.context import web
from recovery.http.web.errors import CsrfError
from recovery.http.web.forms import Form, csrf_for, read_form
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES, pick_locale, words
from recovery.http.web.responses import WebRoute, render
from recovery.letters.customer_status import customer_status
from recovery.letters.i18n import format_datetime
from recovery.service.callbacks import (
    LIMIT,
    MESSAGE_MAX,
    PHONE_MAX,
    Callbacks,
    TooManyRequests,
    callback_requests,
)
from recovery.service.engine import IncidentView

router = APIRouter(route_class=WebRoute, include_in_schema=False)

HEADERS = {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
}


def _chosen(lang: str | None, fallback: str) -> str:
    if lang and lang in LOCALES:
        return lang
    return pick_locale(fallback)


@router.get("/status/{token}", response_model=None)
async def status_page(request: Request, token: str, lang: str | None = None) -> Response:
    return await _page(request, token, lang)


@router.post("/status/{token}/callback", response_model=None)
async def ask_callback(request: Request, token: str, lang: str | None = None) -> Response:
    """The customer asks to be called back: recorded on the incident, its owner told."""
    # No session here: the form token is keyed by the link, and the browser must say the
    # form came from this server (a page elsewhere that knows no link can forge nothing).
    if foreign_origin(request) is not None:
        raise CsrfError()
    form = await read_form(request, csrf_for(token))
    ctx = web(request)
    callbacks = Callbacks(ctx.api.rec, ctx.links)
    try:
        await ctx.api.runner.write(
            callbacks.request, token, form.get("phone"), form.get("message"), ctx.now()
        )
    except TooManyRequests:
        return await _page(request, token, lang, problem="callback_limit", code=429)
    except CommandRejectedError as exc:
        if exc.field == "token":
            return await _page(request, token, lang)  # the link's own "not valid" page
        return await _page(request, token, lang, problem="callback_bad", code=400, form=form)
    suffix = f"?lang={lang}" if lang in LOCALES else ""
    return RedirectResponse(f"/status/{token}{suffix}#callback", status_code=303)


async def _page(
    request: Request,
    token: str,
    lang: str | None,
    *,
    problem: str | None = None,
    code: int = 200,
    form: Form | None = None,
) -> Response:
    ctx = web(request)
    incident_id = await ctx.api.runner.read(ctx.links.incident_of, token)
    view: IncidentView | None = None
    if incident_id is not None:
        try:
            view = await ctx.api.runner.read(ctx.api.rec.get, incident_id)
        except IncidentNotFoundError:
            view = None
    if view is None:
        locale = _chosen(lang, "en")
        return render(
            request,
            "status_missing.html",
            None,
            404,
            headers=HEADERS,
            locale=locale,
            w=words(locale),
            languages=_languages(),
            token=None,
        )
    compiled = ctx.api.rec.playbook_of(view.state)
    locale = _chosen(lang, str(view.state.customer.get("language") or "en"))
    updates = await ctx.api.runner.read(ctx.api.rec.customer_updates, view.id)
    asked = callback_requests(await ctx.api.runner.read(ctx.api.rec.timeline, view.id))
    calendar = ctx.api.rec.sites.calendar(view.state.site)
    status = customer_status(
        view.state,
        compiled,
        locale,
        ctx.zone,
        ctx.now(),
        None if calendar is ALWAYS_OPEN else calendar,
        updates,
    )
    received = None
    if asked:
        moment = parse_iso(asked[-1].recorded_at).astimezone(
            ctx.zone if calendar is ALWAYS_OPEN else calendar.zone
        )
        received = f"{format_datetime(moment, locale)} ({moment.tzname()})"
    return render(
        request,
        "status.html",
        None,
        code,
        headers=HEADERS,
        locale=locale,
        w=words(locale),
        s=status,
        languages=_languages(),
        token=token,
        lang=lang if lang in LOCALES else None,
        callback_csrf=csrf_for(token),
        callback_received=received,
        callback_problem=problem,
        callback_values=form.values() if form else {},
        callback_limits={"limit": LIMIT, "most": MESSAGE_MAX, "phone": PHONE_MAX},
    )


def _languages() -> list[tuple[str, str]]:
    return [(code, LANGUAGE_NAMES[code]) for code in LOCALES]


__all__ = ["customer_status", "router"]
