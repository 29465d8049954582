"""The customer's status page: what has been done, what is next and by when, in the
customer's language, opened with the unguessable link the agent sent.

It shows only the playbook's customer texts and deadlines: no internal notes, no evidence,
no staff names, nothing of any other incident. The token is never sent on to other sites
(`Referrer-Policy: no-referrer`); it is part of the URL, so a server access log, where one
is kept, records it: keep such logs as private as the database.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from recovery.domain.calendar import ALWAYS_OPEN, BusinessCalendar, BusinessTime
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.queries import resolved_states
from recovery.domain.state import IncidentState, iso, parse_iso
from recovery.domain.updates import CustomerUpdate
from recovery.errors import CommandRejectedError, IncidentNotFoundError
from recovery.http.auth.deps import foreign_origin
from recovery.http.web.context import web
from recovery.http.web.errors import CsrfError
from recovery.http.web.forms import Form, csrf_for, read_form
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES, pick_locale, step_text, words
from recovery.http.web.responses import WebRoute, render
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
# Resolved states that mean "we decided not to": not shown to the customer as done.
NOT_DONE = frozenset({"waived"})


@dataclass(frozen=True)
class CustomerStep:
    text: str
    when: str
    late: bool = False


@dataclass(frozen=True)
class CustomerStatus:
    locale: str
    place: str
    status: str
    opened: str
    updated: str
    done: list[CustomerStep]
    next: list[CustomerStep]
    eta: str | None
    referral: str | None
    waiting: list[str]
    """what we are waiting for from the customer (steps on hold)"""
    zone: str
    """the time zone the times are written in, as its abbreviation (CET, WIB, ...)"""
    updates: list[CustomerStep] = field(default_factory=list)


def place_name(site: str) -> str:
    """`ribe-central` as a customer reads it: Ribe Central."""
    return " ".join(p[:1].upper() + p[1:] for p in re.split(r"[-_.\s]+", site) if p) or site


def customer_status(
    view: IncidentView,
    compiled: CompiledPlaybook,
    locale: str,
    zone: ZoneInfo,
    now: datetime,
    calendar: BusinessCalendar | None = None,
    updates: Sequence[CustomerUpdate] = (),
) -> CustomerStatus:
    """The page's contents. Times are written in the property's zone (its calendar's, else
    `zone`) and marked with it; a business-time deadline on the next day the property
    opens says so."""
    state: IncidentState = view.state
    w = words(locale)
    resolved = resolved_states(compiled)
    if calendar is not None:
        zone = calendar.zone
    holds = state.holds or {}

    def at(value: str) -> str:
        moment = parse_iso(value).astimezone(zone)
        return f"{format_datetime(moment, locale)} ({moment.tzname()})"

    def by(step_id: str, due_at: str) -> str:
        if step_id in holds:
            return w["waiting_step"].format(reason=holds[step_id]["reason"])
        definition = compiled.steps.get(step_id)
        if calendar is not None and definition and isinstance(definition.due, BusinessTime):
            today = now.astimezone(zone).date()
            due_day = parse_iso(due_at).astimezone(zone).date()
            if due_day != today and due_day == calendar.next_working_day(today):
                return w["by"].format(when=w["next_working_day"].format(when=at(due_at)))
        return w["by"].format(when=at(due_at))

    done: list[tuple[str, CustomerStep]] = []
    upcoming: list[tuple[str, CustomerStep]] = []
    upcoming_dues: list[tuple[str, str]] = []
    now_iso = iso(now)
    for step in state.steps.values():
        definition = compiled.steps.get(step.id)
        is_resolved = step.status in resolved[step.kind]
        if is_resolved and step.status in NOT_DONE:
            continue
        if is_resolved:
            text = (step_text(definition, locale, done=True) if definition else None) or w[
                "generic_done"
            ]
            when = step.resolved_at or state.updated_at
            done.append((when, CustomerStep(text, at(when))))
        elif state.status in ("open", "escalated") and step.required:
            # An optional step (a credit "where it is due") is no promise until it is done.
            text = (step_text(definition, locale, done=False) if definition else None) or w[
                "generic_next"
            ]
            upcoming_dues.append((step.id, step.due_at))
            upcoming.append(
                (
                    step.due_at,
                    CustomerStep(
                        text,
                        by(step.id, step.due_at),
                        step.due_at < now_iso and step.id not in holds,
                    ),
                )
            )
    done.sort(key=lambda pair: pair[0])
    upcoming.sort(key=lambda pair: pair[0])
    active = state.status in ("open", "escalated")
    # "everything by": what is on hold waits on the customer, so it is not ours to promise
    running = sorted(due for step_id, due in upcoming_dues if step_id not in holds)
    return CustomerStatus(
        locale=locale,
        place=place_name(state.site),
        status=state.status,
        opened=at(state.opened_at),
        updated=at(state.updated_at),
        done=[s for _, s in done],
        next=[s for _, s in upcoming],
        eta=at(running[-1]) if running and active else None,
        referral=(state.release or {}).get("referral") if state.status == "released" else None,
        waiting=list(dict.fromkeys(h["reason"] for h in holds.values())) if active else [],
        zone=str(now.astimezone(zone).tzname()),
        updates=[CustomerStep(w[u.kind], at(u.at)) for u in reversed(updates)],
    )


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
        view,
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
