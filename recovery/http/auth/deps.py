"""FastAPI dependencies: who is calling (401 if nobody), and may their role do this (403)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.security import APIKeyCookie, HTTPBearer

from recovery.http.context import ApiContext
from recovery.http.errors import ApiError
from recovery.service.principal import Permission, Principal

SESSION_COOKIE = "recovery_session"

BEARER = "An API token (`rcv_t_...`) or a session token from POST /auth/login"
# documented only (see `Access`): `presented_secret` reads the cookie itself
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The session cookie set by /auth/login"
)

WHAT = {
    Permission.READ: "read incidents",
    Permission.WRITE: "change incidents",
    Permission.REPORTS: "read reports",
    Permission.PLAYBOOKS: "read playbooks",
    Permission.ADMIN: "manage users, tokens and playbooks",
    Permission.WEBHOOKS: "manage webhook endpoints",
}


def app_context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def context(request: Request) -> ApiContext:
    """The dependency. Async on purpose: FastAPI runs a plain `def` dependency on a worker
    thread, and a thread hop per dependency per request is the API's largest cost."""
    return app_context(request)


def unauthorized(message: str) -> ApiError:
    return ApiError(
        401,
        {"error": "unauthorized", "message": message},
        {"WWW-Authenticate": 'Bearer realm="recovery"'},
    )


def bearer_token(request: Request) -> str:
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def presented_secret(request: Request) -> str:
    """The token the caller presents: `Authorization: Bearer ...`, else the session
    cookie; empty if neither."""
    return bearer_token(request) or request.cookies.get(SESSION_COOKIE) or ""


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SAME_SITE = frozenset({"same-origin", "none"})  # `none`: typed in, a bookmark


def foreign_origin(request: Request) -> str | None:
    """Why a request is from another site, or None. A browser sends the session cookie
    with a request any page makes (a form posting `text/plain` JSON needs no preflight),
    so a cookie-borne change must come from a page of this server. Browsers say where a
    request comes from (`Sec-Fetch-Site`, `Origin`); a client that says neither is not a
    browser, and no other site can make it carry the cookie."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in SAME_SITE:
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("origin")
    # The host only: behind a TLS proxy the server may see http where the page is https.
    host = request.headers.get("host", "").lower()
    if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host):
        return f"Origin: {origin}"
    return None


async def caller(request: Request, permission: Permission | None = None) -> Principal:
    """Who is calling (401 if nobody), if their role grants `permission` (403 if not)."""
    secret = presented_secret(request)
    if not secret:
        raise unauthorized("send 'Authorization: Bearer <token>' (an API or session token)")
    if request.method not in SAFE_METHODS and not bearer_token(request):
        elsewhere = foreign_origin(request)
        if elsewhere is not None:
            raise ApiError(
                403,
                {
                    "error": "foreign_origin",
                    "message": f"a change carried by the session cookie must come from this "
                    f"server's pages, not from {elsewhere}; other clients send "
                    "'Authorization: Bearer <token>'",
                },
            )
    ctx = app_context(request)
    principal = ctx.accounts.cached(secret)
    if principal is None:
        principal = await ctx.runner.read(ctx.accounts.authenticate, secret)
    if principal is None:
        raise unauthorized("the token is unknown, revoked or expired")
    if permission is not None and not principal.can(permission):
        raise ApiError(
            403,
            {
                "error": "forbidden",
                "message": f"the {principal.role} role may not {WHAT[permission]}",
            },
        )
    return principal


class Access(HTTPBearer):
    """A route's whole access check as ONE dependency that reads the request itself.

    FastAPI resolves every declared dependency and parameter on every request, and in
    the command path that cost more than the command (`benchmarks/http.py`): a chain of
    bearer → cookie → authenticate → permission was four. Being an `HTTPBearer`, it
    still documents the scheme; `install_session_cookie_docs` adds the cookie."""

    def __init__(self, permission: Permission | None = None) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer", description=BEARER)
        self.permission = permission

    # Returns the caller, where HTTPBearer returns the raw credentials.
    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        return await caller(request, self.permission)


authenticate = Access()


def require(permission: Permission) -> Access:
    """A dependency: the caller, if their role grants `permission`; 403 otherwise."""
    return Access(permission)


def install_session_cookie_docs(schema: dict[str, Any]) -> dict[str, Any]:
    """Every operation that takes a bearer token also takes the session cookie."""
    schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
    cookie = session_cookie.model.model_dump(mode="json", by_alias=True, exclude_none=True)
    schemes.setdefault("APIKeyCookie", cookie)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            security = operation.get("security")
            if security and {"HTTPBearer": []} in security and {"APIKeyCookie": []} not in security:
                security.append({"APIKeyCookie": []})
    return schema
