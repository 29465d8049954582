"""A person's own settings: the language of their staff pages (their browser's until they
choose one). Admins set it for anyone on the users page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.http.web.context import signed_in, web
from recovery.http.web.errors import BadForm
from recovery.http.web.forms import read_form
from recovery.http.web.responses import WebRoute, page_locale, redirect, render
from recovery.http.web.translations import (
    LANGUAGE_NAMES,
    LOCALES,
    N_,
    from_accept_language,
    translate,
)

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PREFERENCES = "/web/preferences"


def chosen_locale(value: str) -> str | None:
    """A form's language: one of ours, or "" for the browser's (None)."""
    value = value.strip()
    if value == "":
        return None
    if value not in LOCALES:
        raise BadForm(f"locale must be one of: {', '.join(LOCALES)} (or empty)", "locale")
    return value


@router.get(PREFERENCES, response_model=None)
async def preferences(request: Request) -> Response:
    viewer = await signed_in(request)
    browser = from_accept_language(request.headers.get("accept-language"))
    return render(
        request,
        "preferences.html",
        viewer,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        chosen=viewer.locale or "",
        browser=LANGUAGE_NAMES[browser] if browser else None,
    )


@router.post(PREFERENCES, response_model=None)
async def save_preferences(request: Request) -> Response:
    viewer = await signed_in(request)
    form = await read_form(request, viewer.csrf)
    locale = chosen_locale(form.get("locale"))
    ctx = web(request)
    if viewer.principal.kind == "user":
        await ctx.api.runner.write(ctx.api.accounts.set_locale, viewer.name, locale)
    shown = locale or page_locale(request, None)
    return redirect(PREFERENCES, translate(shown, N_("Language saved.")))
