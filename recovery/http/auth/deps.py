"""FastAPI dependencies: who is calling (401 if nobody), and may their role do this (403)."""

from __future__ import annotations

from typing import Any

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


def presented_secret(request: Request) -> str:
    """The token the caller presents: `Authorization: Bearer ...`, else the session
    cookie; empty if neither."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    secret = token.strip() if scheme.lower() == "bearer" else ""
    return secret or request.cookies.get(SESSION_COOKIE) or ""


async def caller(request: Request, permission: Permission | None = None) -> Principal:
    """Who is calling (401 if nobody), if their role grants `permission` (403 if not)."""
    secret = presented_secret(request)
    if not secret:
        raise unauthorized("send 'Authorization: Bearer <token>' (an API or session token)")
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
