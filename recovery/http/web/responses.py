"""How every page answers: flash messages, redirects, rendering a template with what every
page shows, and one error page for whatever goes wrong (never a stack trace)."""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from recovery.domain.state import parse_iso
from recovery.domain.words import said_from_data, said_to_data
from recovery.errors import (
    IncidentNotFoundError,
    IntegrityError,
    RecoveryError,
    StorageError,
    UnknownPlaybookError,
)
from recovery.http.errors import UNAVAILABLE_HEADERS
from recovery.http.web.context import Viewer, current_viewer, web
from recovery.http.web.errors import BadForm, CsrfError, NotSignedIn, PageError, not_found
from recovery.http.web.translations import (
    DEFAULT_LOCALE,
    N_,
    choose_locale,
    template_callables,
    translate,
)

log = logging.getLogger("recovery.web")

FLASH_COOKIE = "recovery_flash"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def set_flash(response: Response, message: str, *, link: str | None = None) -> None:
    # a `Said` message keeps its parts, so the next page says it in the viewer's language
    payload = orjson.dumps({"message": said_to_data(message), "link": link})
    response.set_cookie(
        FLASH_COOKIE,
        base64.urlsafe_b64encode(payload).decode(),
        max_age=120,
        httponly=True,
        samesite="strict",
        path="/",
    )


def read_flash(request: Request) -> dict[str, Any] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str | dict):
        return None
    link = data.get("link")
    message = said_from_data(data["message"])
    return {"message": message, "link": link if isinstance(link, str) else None}


def redirect(url: str, flash: str | None = None, *, link: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash, link=link)
    return response


# The countdown's words, here and in app.js (which reads them from <html data-countdown>).
COUNTDOWN = {
    "under_minute": N_("less than a minute"),
    "min": N_("%(m)s min"),
    "h": N_("%(h)s h"),
    "h_min": N_("%(h)s h %(m)s min"),
    "d": N_("%(d)s d"),
    "d_h": N_("%(d)s d %(h)s h"),
    "late": N_("%(amount)s overdue"),
    "in": N_("in %(amount)s"),
}


def countdown_words(locale: str) -> dict[str, str]:
    return {key: translate(locale, text) for key, text in COUNTDOWN.items()}


def late_by(due_iso: str, now: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """'12 min': how long ago a deadline passed (or how far off it is)."""
    words = countdown_words(locale)
    seconds = abs((parse_iso(due_iso) - now).total_seconds())
    if seconds < 60:
        return words["under_minute"]
    if seconds < 3600:
        return words["min"] % {"m": int(seconds // 60)}
    if seconds < 86400:
        hours, rest = divmod(int(seconds), 3600)
        if rest >= 60:
            return words["h_min"] % {"h": hours, "m": rest // 60}
        return words["h"] % {"h": hours}
    days, rest = divmod(int(seconds), 86400)
    if rest >= 3600:
        return words["d_h"] % {"d": days, "h": rest // 3600}
    return words["d"] % {"d": days}


def relative(due_iso: str, now: datetime, locale: str = DEFAULT_LOCALE) -> str:
    """'in 25 min' or '12 min overdue': what the countdown script shows, rendered first."""
    amount = late_by(due_iso, now, locale)
    late = parse_iso(due_iso) < now
    return countdown_words(locale)["late" if late else "in"] % {"amount": amount}


def page_locale(request: Request, viewer: Viewer | None) -> str:
    """The language of a staff page: the viewer's choice, else the browser's, else English."""
    chosen = viewer.locale if viewer is not None else None
    return choose_locale(chosen, request.headers.get("accept-language"))


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    ctx = web(request)
    flash = read_flash(request)
    now = ctx.now()
    # the customer's status page brings its own language (the incident's, or ?lang=)
    locale = context.pop("locale", None) or page_locale(request, viewer)
    html = ctx.env.get_template(template).render(
        locale=locale,
        **template_callables(locale),
        viewer=viewer,
        csrf=viewer.csrf if viewer else "",
        flash=flash,
        path=request.url.path,
        asset_version=ctx.asset_version,
        now=now,
        relative=lambda due: relative(due, now, locale),
        late_by=lambda due: late_by(due, now, locale),
        countdown=orjson.dumps(countdown_words(locale)).decode(),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=dict(headers or {}))
    if flash is not None:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


async def error_page(request: Request, status: int, title: str, message: str) -> HTMLResponse:
    viewer: Viewer | None = None
    if status < 500:
        try:
            viewer = await current_viewer(request)
        except Exception:  # the error page must render even when the database is down
            viewer = None
    return render(request, "error.html", viewer, status, title=title, message=message)


def _next_after_sign_in(request: Request) -> str:
    path = request.url.path
    if request.method != "GET":
        match = re.match(r"^(/web/incidents/[A-Za-z0-9_.:-]{1,64})/", path)
        return match[1] if match else "/"
    query = request.url.query
    return path + (f"?{query}" if query else "")


class WebRoute(APIRoute):
    """Routes of the web page: every error becomes a page that says what happened and what
    to do, every response carries the security headers, and no page is cached."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            response: Response
            try:
                response = await original(request)
            except NotSignedIn:
                target = quote(_next_after_sign_in(request), safe="/?=&")
                response = RedirectResponse(f"/login?next={target}", status_code=303)
            except CsrfError:
                response = await error_page(
                    request,
                    403,
                    N_("This form has expired"),
                    N_(
                        "The form was not sent from a page of this session (or the session "
                        "changed). Go back, reload the page and send it again."
                    ),
                )
            except PageError as exc:
                response = await error_page(request, exc.status, exc.title, exc.message)
            except (IncidentNotFoundError, UnknownPlaybookError):
                err = not_found("incident or playbook")
                response = await error_page(request, 404, err.title, err.message)
            except BadForm as exc:
                response = await error_page(
                    request,
                    400,
                    N_("The form could not be read"),
                    exc.args[0] if exc.args else str(exc),  # its words (Said) kept
                )
            except RequestValidationError:
                response = await error_page(
                    request, 400, N_("Bad address"), N_("The address of this page is not valid.")
                )
            except StarletteHTTPException as exc:
                response = await error_page(request, exc.status_code, N_("Error"), str(exc.detail))
            except StorageError as exc:
                log.error("web: storage error: %s", exc)
                response = await error_page(
                    request,
                    503,
                    N_("The database does not answer"),
                    N_("Nothing could be read or recorded just now. Try again in a moment."),
                )
                response.headers.update(UNAVAILABLE_HEADERS)
            except IntegrityError as exc:
                log.error("web: %s", exc)
                response = await error_page(
                    request,
                    500,
                    N_("The stored history of this incident is broken"),
                    f"{exc} The auditor's page shows where the log breaks.",
                )
            except RecoveryError as exc:
                response = await error_page(request, 422, N_("Not possible"), str(exc))
            except Exception:
                log.exception("web: unexpected error on %s %s", request.method, request.url.path)
                response = await error_page(
                    request,
                    500,
                    N_("Something went wrong on our side"),
                    N_(
                        "The error has been logged. Go back and try again; if it happens "
                        "again, tell your administrator the time it happened."
                    ),
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return handler
