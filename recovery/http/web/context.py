"""Who is asking and what every page is rendered with: the web context over the API's,
the signed-in person, and the template environment.

Sessions are the API's: the sign-in form calls `Accounts.login` and sets the same HttpOnly,
SameSite=strict cookie as POST /auth/login, so a signed-in person can use both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from recovery.http.auth.deps import SESSION_COOKIE, WHAT
from recovery.http.context import ApiContext
from recovery.http.web.errors import NotSignedIn, PageError
from recovery.http.web.formats import CHANNEL_NAMES, STATUS_NAMES, install_formats
from recovery.http.web.forms import csrf_for
from recovery.http.web.present import CHANNELS, ROLE_NAMES, humanise
from recovery.http.web.translations import N_
from recovery.service.links import StatusLinks
from recovery.service.principal import Permission, Principal

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

CHANNEL_COOKIE = "recovery_channel"


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
    def locale(self) -> str | None:
        """The language the person chose (None: their browser's)."""
        return self.principal.locale

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
            N_("Not for your role"),
            f"The {viewer.role_name} role may not {WHAT[permission]}.",
        )
    return viewer


def make_environment(
    zone: ZoneInfo, zone_of: Callable[[str], ZoneInfo | None] = lambda site: None
) -> Environment:
    """The templates' environment. `zone` is the server's display zone; `zone_of(site)` a
    property's own zone (None: the property has no calendar)."""
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    # newstyle: placeholders by name, escaped; English until a render passes the viewer's
    # language (`template_callables`, which override these globals)
    env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
    install_formats(env, zone, zone_of)
    env.filters["humanise"] = humanise
    env.filters["short"] = lambda value: str(value)[:12]
    env.globals["zone_name"] = str(zone)
    env.globals["role_name"] = lambda role: ROLE_NAMES.get(role, humanise(role))
    env.globals["channel_name"] = lambda code: CHANNEL_NAMES.get(code, code)
    env.globals["status_name"] = lambda code: STATUS_NAMES.get(code, code)
    return env


def asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.glob("*")):
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]
