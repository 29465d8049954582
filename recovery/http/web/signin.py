"""Signing in and out (the API's session cookie, set by a form), and the channel a person
is working through (remembered in a cookie, recorded with what they do)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from recovery.domain.describe import CHANNELS as CHANNEL_WORDS
from recovery.domain.words import say
from recovery.http.auth.deps import SESSION_COOKIE
from recovery.http.web.context import CHANNEL_COOKIE, Viewer, signed_in, web
from recovery.http.web.errors import BadForm
from recovery.http.web.forms import LOGIN_COOKIE, local_path, new_login_token, read_form
from recovery.http.web.present import CHANNELS
from recovery.http.web.responses import WebRoute, redirect, render
from recovery.http.web.translations import N_
from recovery.service.accounts import SignInThrottled

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/login", response_model=None)
async def login_form(request: Request, next: str = "/") -> Response:
    ctx = web(request)
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        principal = await ctx.api.runner.read(ctx.api.accounts.authenticate, secret)
        if principal is not None:
            return redirect(local_path(next))
    return _login_page(request, next=local_path(next))


def _login_page(
    request: Request,
    *,
    next: str,
    viewer: Viewer | None = None,
    error: str | None = None,
    username: str = "",
    status: int = 200,
) -> HTMLResponse:
    token = new_login_token()
    response = render(
        request,
        "login.html",
        viewer,
        status,
        login_csrf=token,
        next=next,
        error=error,
        username=username,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/login",
    )
    return response


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    ctx = web(request)
    form = await read_form(request, request.cookies.get(LOGIN_COOKIE) or "\x00")
    username = form.get("username").strip()[:200]
    password = form.get("password")[:1000]
    target = local_path(form.get("next"))
    if not username or not password:
        return _login_page(
            request,
            next=target,
            error="Enter your username and password.",
            username=username,
            status=422,
        )
    client = request.client.host if request.client else ""
    try:
        # The password check is slow on purpose: a worker thread, never the event loop.
        user = await ctx.api.runner.read(ctx.api.accounts.check_sign_in, username, password, client)
    except SignInThrottled as exc:
        page = _login_page(request, next=target, error=f"{exc}.", username=username, status=429)
        page.headers["Retry-After"] = str(int(exc.retry_after.total_seconds()) + 1)
        return page
    if user is None:
        return _login_page(
            request,
            next=target,
            error="Wrong username or password, or the account is disabled.",
            username=username,
            status=401,
        )
    secret, expires_at = await ctx.api.runner.write(ctx.api.accounts.open_session, user)
    response = redirect(target)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int((expires_at - ctx.now()).total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    viewer = await signed_in(request)
    await read_form(request, viewer.csrf)
    ctx = web(request)
    await ctx.api.runner.write(ctx.api.accounts.logout, viewer.secret)
    response = redirect("/login", N_("You are signed out."))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/web/channel", response_model=None)
async def set_channel(request: Request) -> Response:
    viewer = await signed_in(request)
    form = await read_form(request, viewer.csrf)
    channel = form.get("channel")
    if channel not in CHANNELS:
        raise BadForm(f"channel must be one of: {', '.join(CHANNELS)}", field="channel")
    response = redirect(
        local_path(form.get("back")),
        say("Working via: {channel}.", channel=CHANNEL_WORDS.get(channel, channel)),
    )
    response.set_cookie(
        CHANNEL_COOKIE, channel, max_age=86400 * 365, httponly=True, samesite="strict", path="/"
    )
    return response
