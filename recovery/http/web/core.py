"""What every page needs: who is signed in, CSRF, form bodies, flash messages, rendering,
and one error page for whatever goes wrong (never a stack trace).

Sessions are the API's: the sign-in form calls `Accounts.login` and sets the same HttpOnly,
SameSite=strict cookie as POST /auth/login, so a signed-in person can use both. Every POST
carries a CSRF token: an HMAC of the session secret (nothing extra to store), or for the
sign-in form, where there is no session yet, a random value also set as a cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

import orjson
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from recovery.domain.state import parse_iso
from recovery.errors import (
    IncidentNotFoundError,
    RecoveryError,
    StorageError,
    UnknownPlaybookError,
)
from recovery.http.auth.deps import SESSION_COOKIE, WHAT
from recovery.http.context import ApiContext
from recovery.http.web.present import CHANNELS, ROLE_NAMES, humanise
from recovery.service.links import StatusLinks
from recovery.service.principal import Permission, Principal

log = logging.getLogger("recovery.web")

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

FLASH_COOKIE = "recovery_flash"
LOGIN_COOKIE = "recovery_login"
CHANNEL_COOKIE = "recovery_channel"
MAX_FORM_BYTES = 64 * 1024
CSRF_FIELD = "csrf"

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
ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# ---------------------------------------------------------------------------- errors


class NotSignedIn(Exception):
    """No live session: the page sends the person to the sign-in form."""


class PageError(Exception):
    """A page that cannot be shown, with the status and what to tell the person."""

    def __init__(self, status: int, title: str, message: str) -> None:
        self.status = status
        self.title = title
        self.message = message
        super().__init__(message)


def not_found(what: str = "page") -> PageError:
    return PageError(
        404,
        "Not found",
        f"There is no such {what}, or it is not at one of your properties.",
    )


class BadForm(Exception):
    """A form that cannot be read as sent (the message says which field and why)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class CsrfError(Exception):
    pass


# ---------------------------------------------------------------------------- context


@dataclass
class WebContext:
    api: ApiContext
    links: StatusLinks
    env: Environment
    zone: ZoneInfo
    asset_version: str

    def now(self) -> datetime:
        return self.api.clock()


def web(request: Request) -> WebContext:
    found: WebContext = request.app.state.web
    return found


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"recovery-web-csrf", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Viewer:
    """The signed-in person."""

    principal: Principal
    secret: str
    csrf: str
    channel: str

    @property
    def name(self) -> str:
        return self.principal.name

    @property
    def role(self) -> str:
        return self.principal.role

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, humanise(self.role))

    @property
    def sites(self) -> tuple[str, ...]:
        return self.principal.sites

    @property
    def all_sites(self) -> bool:
        return self.principal.all_sites

    @property
    def can_read(self) -> bool:
        return self.principal.can(Permission.READ)

    @property
    def can_write(self) -> bool:
        return self.principal.can(Permission.WRITE)

    @property
    def can_report(self) -> bool:
        return self.principal.can(Permission.REPORTS)

    def may_see(self, site: str) -> bool:
        return self.principal.may_see(site)


async def current_viewer(request: Request) -> Viewer | None:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret or len(secret) > 200:
        return None
    accounts = web(request).api.accounts
    principal = accounts.cached(secret)
    if principal is None:
        principal = await web(request).api.runner.read(accounts.authenticate, secret)
    if principal is None:
        return None
    channel = request.cookies.get(CHANNEL_COOKIE, "desk")
    return Viewer(principal, secret, csrf_for(secret), channel if channel in CHANNELS else "desk")


async def signed_in(request: Request, permission: Permission | None = None) -> Viewer:
    """The signed-in person (else to the sign-in page), allowed `permission` (else 403)."""
    viewer = await current_viewer(request)
    if viewer is None:
        raise NotSignedIn()
    if permission is not None and not viewer.principal.can(permission):
        raise PageError(
            403,
            "Not for your role",
            f"The {viewer.role_name} role may not {WHAT[permission]}.",
        )
    return viewer


# ---------------------------------------------------------------------------- forms


@dataclass(frozen=True)
class Form:
    pairs: list[tuple[str, str]] = field(default_factory=list)

    def get(self, name: str, default: str = "") -> str:
        for key, value in self.pairs:
            if key == name:
                return value
        return default

    def text(self, name: str) -> str | None:
        """The field stripped, or None when empty."""
        value = self.get(name).strip()
        return value or None

    def getlist(self, name: str) -> list[str]:
        return [v for k, v in self.pairs if k == name]

    def values(self) -> dict[str, Any]:
        """For re-showing what was typed: one value per field, lists for repeated ones."""
        out: dict[str, Any] = {}
        for key, value in self.pairs:
            if key == CSRF_FIELD:
                continue
            if key in out:
                previous = out[key]
                out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                out[key] = value
        return out


async def read_form(request: Request, expected_csrf: str | None) -> Form:
    """The urlencoded body; refused unless its CSRF field matches `expected_csrf`."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise BadForm("this page accepts only its own forms")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise BadForm("the form is too large (64 KB at most)")
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            max_num_fields=400,
            strict_parsing=False,
        )
    except ValueError:
        raise BadForm("the form has too many fields") from None
    form = Form(pairs)
    if expected_csrf is None or not hmac.compare_digest(
        form.get(CSRF_FIELD).encode(), expected_csrf.encode()
    ):
        raise CsrfError()
    for key, value in pairs:
        if "\x00" in value or "\x00" in key:
            raise BadForm(f"{key}: text may not contain NUL characters", field=key)
    return form


def local_path(target: str | None, default: str = "/") -> str:
    """Only a path on this site (never `//host` or `http://host`) is followed."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


def check_id(value: str) -> str:
    if not ID_PATTERN.match(value):
        raise not_found("incident")
    return value


def check_code(value: str, what: str = "page") -> str:
    if not CODE_PATTERN.match(value):
        raise not_found(what)
    return value


# ---------------------------------------------------------------------------- flash


def set_flash(response: Response, message: str, *, link: str | None = None) -> None:
    payload = orjson.dumps({"message": message, "link": link})
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
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        return None
    link = data.get("link")
    return {"message": data["message"], "link": link if isinstance(link, str) else None}


def redirect(url: str, flash: str | None = None, *, link: str | None = None) -> Response:
    response = RedirectResponse(url, status_code=303)
    if flash:
        set_flash(response, flash, link=link)
    return response


# ---------------------------------------------------------------------------- rendering


def make_environment(zone: ZoneInfo) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    def local(value: str | datetime | None) -> datetime | None:
        if value is None or value == "":
            return None
        moment = parse_iso(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(zone)

    def when(value: str | datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else f"{moment:%a} {moment.day} {moment:%b, %H:%M}"

    def when_full(value: str | datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else f"{moment.day} {moment:%b %Y, %H:%M:%S %Z}"

    def input_time(value: str | datetime | None) -> str:
        moment = local(value)
        return "" if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%S")

    env.filters["when"] = when
    env.filters["when_full"] = when_full
    env.filters["input_time"] = input_time
    env.filters["humanise"] = humanise
    env.filters["short"] = lambda value: str(value)[:12]
    env.globals["zone_name"] = str(zone)
    return env


def relative(due_iso: str, now: datetime) -> str:
    """'in 25 min' or '12 min overdue': what the countdown script shows, rendered first."""
    seconds = (parse_iso(due_iso) - now).total_seconds()
    late = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        amount = "less than a minute"
    elif seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 86400:
        hours, rest = divmod(int(seconds), 3600)
        amount = f"{hours} h {rest // 60} min" if rest >= 60 else f"{hours} h"
    else:
        days, rest = divmod(int(seconds), 86400)
        amount = f"{days} d {rest // 3600} h" if rest >= 3600 else f"{days} d"
    return f"{amount} overdue" if late else f"in {amount}"


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
    html = ctx.env.get_template(template).render(
        viewer=viewer,
        csrf=viewer.csrf if viewer else "",
        flash=flash,
        path=request.url.path,
        asset_version=ctx.asset_version,
        now=now,
        relative=lambda due: relative(due, now),
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
                    "This form has expired",
                    "The form was not sent from a page of this session (or the session "
                    "changed). Go back, reload the page and send it again.",
                )
            except PageError as exc:
                response = await error_page(request, exc.status, exc.title, exc.message)
            except (IncidentNotFoundError, UnknownPlaybookError):
                err = not_found("incident or playbook")
                response = await error_page(request, 404, err.title, err.message)
            except BadForm as exc:
                response = await error_page(request, 400, "The form could not be read", str(exc))
            except RequestValidationError:
                response = await error_page(
                    request, 400, "Bad address", "The address of this page is not valid."
                )
            except StarletteHTTPException as exc:
                response = await error_page(request, exc.status_code, "Error", str(exc.detail))
            except StorageError as exc:
                log.error("web: storage error: %s", exc)
                response = await error_page(
                    request,
                    503,
                    "The database does not answer",
                    "Nothing could be read or recorded just now. Try again in a moment.",
                )
            except RecoveryError as exc:
                response = await error_page(request, 422, "Not possible", str(exc))
            except Exception:
                log.exception("web: unexpected error on %s %s", request.method, request.url.path)
                response = await error_page(
                    request,
                    500,
                    "Something went wrong on our side",
                    "The error has been logged. Go back and try again; if it happens again, "
                    "tell your administrator the time it happened.",
                )
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return handler


def asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
