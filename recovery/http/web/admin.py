"""Users and API tokens in the browser, for the admin role (others get a 403 page): the
same `Accounts` methods the `recovery users` / `recovery tokens` commands call.

A new token's secret is shown once, on the page answering the form that created it (never
in a flash cookie or a later page): only its hash is stored.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.words import say
from recovery.http.web.context import Viewer, signed_in, web
from recovery.http.web.errors import BadForm, not_found
from recovery.http.web.forms import Form, read_form
from recovery.http.web.preferences import chosen_locale
from recovery.http.web.responses import WebRoute, redirect, render
from recovery.http.web.translations import LANGUAGE_NAMES, LOCALES, N_
from recovery.service.accounts import check_name
from recovery.service.principal import ROLES, Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

USERS = "/web/admin/users"
TOKENS = "/web/admin/tokens"


def _field(form: Form, name: str, limit: int = 2000) -> str:
    value = form.get(name).strip()
    if len(value) > limit:
        raise BadForm(
            say("{field} is longer than {limit} characters", field=name, limit=limit), name
        )
    return value


def _sites(form: Form) -> list[str]:
    return _field(form, "sites").split(",")


async def _admin(request: Request) -> Viewer:
    return await signed_in(request, Permission.ADMIN)


@router.get(USERS, response_model=None)
async def users(request: Request) -> Response:
    viewer = await _admin(request)
    ctx = web(request)
    found = await ctx.api.runner.read(ctx.api.accounts.list_users)
    languages = [(code, LANGUAGE_NAMES[code]) for code in LOCALES]
    return render(
        request, "admin_users.html", viewer, users=found, roles=ROLES, languages=languages
    )


@router.post(USERS, response_model=None)
async def add_user(request: Request) -> Response:
    viewer = await _admin(request)
    form = await read_form(request, viewer.csrf)
    ctx = web(request)
    username = _field(form, "username", 100)
    if await ctx.api.runner.read(ctx.api.accounts.user, username) is not None:
        raise BadForm(say("There is already a user “{name}”.", name=username), "username")
    user = await ctx.api.runner.write(
        ctx.api.accounts.add_user,
        username,
        form.get("password"),
        _field(form, "role", 40),
        _sites(form),
    )
    return redirect(USERS, say("User {name} added.", name=user.username))


async def _user_form(request: Request, username: str) -> tuple[Viewer, Form, str]:
    viewer = await _admin(request)
    form = await read_form(request, viewer.csrf)
    check_name(username, "username")
    ctx = web(request)
    if await ctx.api.runner.read(ctx.api.accounts.user, username) is None:
        raise not_found("user")
    return viewer, form, username


@router.post(USERS + "/{username}/disable", response_model=None)
async def disable_user(request: Request, username: str) -> Response:
    viewer, _, username = await _user_form(request, username)
    if username == viewer.name:
        raise BadForm(N_("You cannot disable your own account (you would be locked out)."))
    ctx = web(request)
    await ctx.api.runner.write(ctx.api.accounts.set_user_disabled, username, True)
    return redirect(USERS, say("User {name} disabled: their sessions end now.", name=username))


@router.post(USERS + "/{username}/enable", response_model=None)
async def enable_user(request: Request, username: str) -> Response:
    await _user_form(request, username)
    ctx = web(request)
    await ctx.api.runner.write(ctx.api.accounts.set_user_disabled, username, False)
    return redirect(USERS, say("User {name} enabled.", name=username))


@router.post(USERS + "/{username}/email", response_model=None)
async def set_email(request: Request, username: str) -> Response:
    _, form, username = await _user_form(request, username)
    ctx = web(request)
    wanted = form.text("notify_by_email") is not None
    await ctx.api.runner.write(
        ctx.api.accounts.set_email, username, _field(form, "email", 400), wanted
    )
    told = say("mailed to them") if wanted else say("not mailed")
    return redirect(
        USERS,
        say("The e-mail of {name} is set; notifications are {told}.", name=username, told=told),
    )


@router.post(USERS + "/{username}/password", response_model=None)
async def reset_password(request: Request, username: str) -> Response:
    _, form, username = await _user_form(request, username)
    ctx = web(request)
    await ctx.api.runner.write(ctx.api.accounts.set_password, username, form.get("password"))
    return redirect(USERS, say("The password of {name} is set.", name=username))


@router.post(USERS + "/{username}/locale", response_model=None)
async def set_locale(request: Request, username: str) -> Response:
    _, form, username = await _user_form(request, username)
    ctx = web(request)
    locale = chosen_locale(form.get("locale"))
    await ctx.api.runner.write(ctx.api.accounts.set_locale, username, locale)
    shown = LANGUAGE_NAMES[locale] if locale else say("their browser's language")
    return redirect(
        USERS, say("{name} sees the pages in {language}.", name=username, language=shown)
    )


@router.get(TOKENS, response_model=None)
async def tokens(request: Request) -> Response:
    viewer = await _admin(request)
    return await _tokens_page(request, viewer)


async def _tokens_page(
    request: Request, viewer: Viewer, new_name: str = "", new_secret: str = ""
) -> Response:
    ctx = web(request)
    found = await ctx.api.runner.read(ctx.api.accounts.list_tokens)
    return render(
        request,
        "admin_tokens.html",
        viewer,
        tokens=found,
        roles=ROLES,
        new_name=new_name,
        new_secret=new_secret,
    )


@router.post(TOKENS, response_model=None)
async def create_token(request: Request) -> Response:
    viewer = await _admin(request)
    form = await read_form(request, viewer.csrf)
    ctx = web(request)
    row, secret = await ctx.api.runner.write(
        ctx.api.accounts.create_token,
        _field(form, "name", 100),
        _field(form, "role", 40),
        _sites(form),
    )
    # Answered here, not redirected: the secret is on this page and no other.
    return await _tokens_page(request, viewer, new_name=row.name, new_secret=secret)


@router.post(TOKENS + "/{token_id}/revoke", response_model=None)
async def revoke_token(request: Request, token_id: str) -> Response:
    viewer = await _admin(request)
    await read_form(request, viewer.csrf)
    check_name(token_id, "token")
    ctx = web(request)
    row = await ctx.api.runner.write(ctx.api.accounts.revoke_token, token_id)
    if row is None:
        raise not_found("token")
    return redirect(TOKENS, say("Token {name} revoked.", name=row.name))


__all__ = ["router"]
