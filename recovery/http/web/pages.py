"""The staff pages: sign in, the board, opening an incident, and working one.

Every form posts to a route here that runs the engine command (through the API's runner,
so SQLite writes queue on one thread), then redirects to the incident with a message
(post/redirect/get). A refused command shows the incident again with the engine's own
message, what is allowed now, and the form still filled in as it was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import HTMLResponse, Response

from recovery.domain.commands import (
    AddNote,
    Close,
    Escalate,
    HandOff,
    IncidentCommand,
    OpenIncident,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
)
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.state import iso
from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    NotAllowedNowError,
    PermissionDeniedError,
    UnknownPlaybookError,
)
from recovery.http.auth.deps import SESSION_COOKIE
from recovery.http.web.core import (
    CHANNEL_COOKIE,
    LOGIN_COOKIE,
    BadForm,
    Form,
    PageError,
    Viewer,
    WebRoute,
    check_code,
    check_id,
    local_path,
    new_login_token,
    not_found,
    read_form,
    redirect,
    render,
    signed_in,
    web,
)
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES
from recovery.http.web.present import (
    ACTION_LABELS,
    CHANNELS,
    STEP_STATUS,
    board_row,
    cue_choices,
    describe,
    humanise,
    incident_forms,
    step_views,
)
from recovery.service.accounts import SignInThrottled
from recovery.service.engine import IncidentView, Outcome, Recovery
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

INCIDENT_ACTIONS = {
    "record_contact": "record a contact",
    "add_note": "add a note",
    "report_cues": "report dissatisfaction cues",
    "record_push": "record that the customer had to ask",
    "hand_off": "hand off",
    "escalate": "escalate",
    "release": "release (an honest ending)",
    "close": "close",
    "reopen": "reopen",
}
FIELD_LABELS = {
    "incident_type": "Type",
    "site": "Property",
    "customer.name": "Customer name",
    "customer.contact": "Contact",
    "customer.member_since": "Member since",
    "customer.language": "Language",
    "customer.order_value": "Business at stake",
    "cues": "Cues",
    "summary": "What went wrong",
    "asked_for": "What the customer asked for",
    "channel": "Channel",
    "direction": "Direction",
    "to": "Hand off to",
    "to_role": "Their role",
    "context": "Context for the next owner",
    "text": "Note",
    "reason": "Reason",
    "referral": "Referral",
    "alternatives": "Alternatives",
    "amount": "Amount",
}


def _step_of(problem: Problem) -> str | None:
    kind, _, rest = problem.form.partition(":")
    return rest.partition(":")[0] if kind == "step" else None


def incident_url(incident_id: str) -> str:
    return f"/web/incidents/{incident_id}"


@dataclass(frozen=True)
class Problem:
    """A refused form: what the engine said, on which form, and what is allowed now."""

    form: str
    message: str
    field: str | None = None
    status: int = 422


def validation_message(exc: ValidationError) -> tuple[str, str | None]:
    parts = []
    first_field: str | None = None
    for error in exc.errors():
        loc = ".".join(str(p) for p in error.get("loc", ()))
        first_field = first_field or loc
        label = FIELD_LABELS.get(loc, humanise(loc.split(".")[-1]).capitalize() if loc else "")
        message = str(error.get("msg", "is not valid"))
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "string_too_short":
            limit = (error.get("ctx") or {}).get("min_length", 1)
            message = "is required" if limit == 1 else f"needs at least {limit} characters"
        elif error.get("type") == "string_pattern_mismatch":
            message = "has characters that are not allowed here"
        parts.append(f"{label}: {message}" if label else message)
    return "; ".join(parts) or "the form is not valid", first_field


def allowed_labels(
    view: IncidentView, compiled: CompiledPlaybook, step_first: str | None = None
) -> tuple[list[str], list[str]]:
    """What can be done now, in words: on the step the form was about, then the rest."""
    here: list[str] = []
    rest: list[str] = []
    for action in view.allowed:
        step_id, dot, name = action.partition(".")
        if dot:
            definition = compiled.steps.get(step_id)
            title = definition.title if definition else humanise(step_id)
            label = f"{title}: {ACTION_LABELS.get(name, (humanise(name),))[0].lower()}"
            (here if step_id == step_first else rest).append(label)
        else:
            rest.append(INCIDENT_ACTIONS.get(action, humanise(action)))
    return here, rest


# ---------------------------------------------------------------------------- sign in


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
        found = await ctx.api.runner.write(ctx.api.accounts.login, username, password, client)
    except SignInThrottled as exc:
        page = _login_page(request, next=target, error=f"{exc}.", username=username, status=429)
        page.headers["Retry-After"] = str(int(exc.retry_after.total_seconds()) + 1)
        return page
    if found is None:
        return _login_page(
            request,
            next=target,
            error="Wrong username or password, or the account is disabled.",
            username=username,
            status=401,
        )
    secret, expires_at, _user = found
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
    response = redirect("/login", "You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/web/channel", response_model=None)
async def set_channel(request: Request) -> Response:
    viewer = await signed_in(request)
    form = await read_form(request, viewer.csrf)
    channel = form.get("channel")
    if channel not in CHANNELS:
        raise BadForm(f"channel must be one of: {', '.join(CHANNELS)}", field="channel")
    response = redirect(local_path(form.get("back")), f"Working via: {channel}.")
    response.set_cookie(
        CHANNEL_COOKIE, channel, max_age=86400 * 365, httponly=True, samesite="strict", path="/"
    )
    return response


# ---------------------------------------------------------------------------- board


@router.get("/", response_model=None)
async def board(
    request: Request,
    site: str = "",
    playbook: str = "",
    owner: str = "",
    ended: str = "",
) -> Response:
    viewer = await signed_in(request)
    ctx = web(request)
    if not viewer.can_read:
        return render(request, "home_admin.html", viewer)
    site, playbook, owner = site.strip()[:200], playbook.strip()[:80], owner.strip()[:200]
    rec = ctx.api.rec
    views: list[IncidentView] = []
    if not site or viewer.may_see(site):
        views = await ctx.api.runner.read(
            rec.list_incidents,
            active_only=ended != "1",
            site=site or None,
            sites=None if viewer.all_sites else list(viewer.sites),
            playbook=playbook or None,
            owner=owner or None,
            limit=500,
        )
    now_iso = iso(ctx.now())
    rows = [board_row(v, rec.playbook_of(v.state), now_iso) for v in views]
    rows.sort(key=lambda r: (r.next_due is None, r.next_due or "", r.id))
    return render(
        request,
        "board.html",
        viewer,
        rows=rows,
        filters={"site": site, "playbook": playbook, "owner": owner, "ended": ended == "1"},
        playbooks=[(c.playbook.id, c.playbook.title) for c in rec.catalog.latest()],
        owners=sorted({r.owner for r in rows} | ({owner} if owner else set())),
        overdue=sum(1 for r in rows if r.overdue),
        now_iso=now_iso,
    )


# ---------------------------------------------------------------------------- new incident


def _new_page(
    request: Request,
    viewer: Viewer,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    error_field: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    rec = web(request).api.rec
    types = [
        (t, rec.catalog.for_incident_type(t).playbook.title) for t in rec.catalog.incident_types()
    ]
    defaults = {"channel": viewer.channel, "customer.language": "en"}
    if not viewer.all_sites and len(viewer.sites) == 1:
        defaults["site"] = viewer.sites[0]
    return render(
        request,
        "new.html",
        viewer,
        status,
        types=types,
        cues=cue_choices(rec.catalog.latest()),
        channels=CHANNELS,
        languages=[(code, LANGUAGE_NAMES[code]) for code in LOCALES],
        values={**defaults, **(values or {})},
        error=error,
        error_field=error_field,
    )


@router.get("/web/incidents/new", response_model=None)
async def new_incident_form(request: Request) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    return _new_page(request, viewer)


@router.post("/web/incidents/new", response_model=None)
async def new_incident(request: Request) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    form = await read_form(request, viewer.csrf)
    ctx = web(request)
    values = form.values()
    values["cues"] = form.getlist("cues")
    channel = form.get("channel", viewer.channel)
    if channel not in CHANNELS:
        channel = viewer.channel
    try:
        customer: dict[str, Any] = {
            "name": form.get("customer.name"),
            "contact": form.text("customer.contact"),
            "member_since": form.text("customer.member_since"),
            "language": form.get("customer.language", "en") or "en",
            "order_value": form.text("customer.order_value"),
        }
        command = OpenIncident(
            incident_type=form.get("incident_type"),
            site=form.get("site").strip(),
            customer={k: v for k, v in customer.items() if v is not None},
            cues=form.getlist("cues"),
            summary=form.text("summary"),
        )
    except ValidationError as exc:
        message, where = validation_message(exc)
        return _new_page(
            request, viewer, values=values, error=message, error_field=where, status=422
        )
    if not viewer.may_see(command.site):
        places = "every property" if viewer.all_sites else ", ".join(viewer.sites)
        return _new_page(
            request,
            viewer,
            values=values,
            error=f"You may not open incidents at {command.site!r}; your properties: {places}.",
            error_field="site",
            status=403,
        )
    try:
        outcome = await ctx.api.runner.write(
            ctx.api.rec.open, command, actor=viewer.principal.actor(), channel=channel
        )
    except UnknownPlaybookError as exc:
        return _new_page(
            request, viewer, values=values, error=str(exc), error_field="incident_type", status=422
        )
    except CommandRejectedError as exc:
        return _new_page(
            request, viewer, values=values, error=str(exc), error_field=exc.field, status=422
        )
    ctx.api.sites.put(outcome.id, command.site)
    steps = len(outcome.incident.state.steps)
    response = redirect(
        incident_url(outcome.id), f"Incident opened: all {steps} steps are open at once."
    )
    response.set_cookie(
        CHANNEL_COOKIE, channel, max_age=86400 * 365, httponly=True, samesite="strict", path="/"
    )
    return response


# ---------------------------------------------------------------------------- incident


async def _visible(request: Request, viewer: Viewer, incident_id: str) -> IncidentView:
    """The incident, if it exists at one of the viewer's properties (else: not found)."""
    ctx = web(request)
    check_id(incident_id)
    view = await ctx.api.runner.read(ctx.api.rec.get, incident_id)
    if not viewer.may_see(view.state.site):
        raise not_found("incident")
    ctx.api.sites.put(incident_id, view.state.site)
    return view


async def incident_page(
    request: Request,
    viewer: Viewer,
    incident_id: str,
    *,
    problem: Problem | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    ctx = web(request)
    rec = ctx.api.rec
    view = await _visible(request, viewer, incident_id)
    state = view.state
    compiled = rec.playbook_of(state)
    events = await ctx.api.runner.read(rec.timeline, incident_id)
    links = await ctx.api.runner.read(ctx.links.active_count, incident_id)
    users: list[str] = []
    if viewer.can_write:
        found = await ctx.api.runner.read(ctx.api.accounts.list_users)
        users = [
            u.username
            for u in found
            if u.active and u.username != state.owner and ("*" in u.sites or state.site in u.sites)
        ]
    now_iso = iso(ctx.now())
    base = incident_url(incident_id)
    steps = step_views(
        view, compiled, now_iso, role=viewer.role, can_write=viewer.can_write, base=base
    )
    roles = sorted({s.owner for s in compiled.steps.values()} | {"front_desk", "manager"})
    cues = cue_choices([compiled]) or cue_choices(rec.catalog.latest())
    forms = (
        incident_forms(view, base, users=users, roles=roles, channel=viewer.channel, cues=cues)
        if viewer.can_write
        else {}
    )
    return render(
        request,
        "incident.html",
        viewer,
        problem.status if problem else 200,
        view=view,
        state=state,
        playbook=compiled.playbook,
        steps=steps,
        entries=[describe(e, compiled) for e in reversed(events)],
        pending=[compiled.steps[s].title for s in view.pending_for_close if s in compiled.steps],
        problem=problem,
        problem_allowed=allowed_labels(view, compiled, _step_of(problem)) if problem else ([], []),
        values=values or {},
        base=base,
        links=links,
        forms=forms,
        now_iso=now_iso,
    )


@router.get("/web/incidents/{incident_id}", response_model=None)
async def incident(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    return await incident_page(request, viewer, incident_id)


# (who, the form, the incident version the page showed) -> the command to run
Build = Callable[[Viewer, Form, int | None], Callable[[], Outcome]]


async def _act(
    request: Request,
    incident_id: str,
    form_key: str,
    build: Build,
    success: Callable[[Outcome], str],
    anchor: str = "",
) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    form = await read_form(request, viewer.csrf)
    ctx = web(request)
    check_id(incident_id)
    await ctx.api.runner.read(ctx.api.check_scope, viewer.principal, incident_id)
    problem: Problem | None = None
    try:
        outcome = await ctx.api.runner.write(build(viewer, form, _shown_version(form)))
    except ValidationError as exc:
        message, where = validation_message(exc)
        problem = Problem(form_key, message, where)
    except BadForm as exc:
        problem = Problem(form_key, str(exc), exc.field)
    except ConflictError as exc:
        problem = Problem(
            form_key,
            "Someone else recorded something on this incident after you opened the page "
            f"(it is now at version {exc.current_version}). Check the steps and the timeline "
            "below, then send the form again: what you typed is still in it.",
            status=409,
        )
    except PermissionDeniedError as exc:
        problem = Problem(form_key, str(exc), exc.field, status=403)
    except NotAllowedNowError as exc:
        problem = Problem(form_key, str(exc), exc.field, status=409)
    except CommandRejectedError as exc:
        problem = Problem(form_key, str(exc), exc.field)
    if problem is not None:
        return await incident_page(
            request, viewer, incident_id, problem=problem, values=form.values()
        )
    return redirect(f"{incident_url(incident_id)}{anchor}", success(outcome))


def _shown_version(form: Form) -> int | None:
    raw = form.text("version")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise BadForm(f"The page's incident version must be a number, not {raw!r}", "version")
    return int(raw)


def _command(rec: Recovery, incident_id: str, make: Callable[[Form], IncidentCommand]) -> Build:
    def build(viewer: Viewer, form: Form, version: int | None) -> Callable[[], Outcome]:
        command = make(form)  # a ValidationError here is shown on the form
        return lambda: rec.execute(
            incident_id,
            command,
            actor=viewer.principal.actor(),
            channel=viewer.channel,
            expected_version=version,
        )

    return build


@router.post("/web/incidents/{incident_id}/steps/{step}/{action}", response_model=None)
async def step_action(request: Request, incident_id: str, step: str, action: str) -> Response:
    check_code(step, "step")
    check_code(action, "action")
    rec = web(request).api.rec

    def build(viewer: Viewer, form: Form, version: int | None) -> Callable[[], Outcome]:
        actor = viewer.principal.actor()
        evidence = {k[3:]: v for k, v in form.pairs if k.startswith("ev.")}
        raw_amount = form.text("amount")
        try:
            amount = float(raw_amount) if raw_amount else None
        except ValueError:
            raise BadForm(f"Amount must be a number, not {raw_amount!r}", field="amount") from None
        alternatives = _lines(form.get("alternatives"))
        reason = form.text("reason")
        note, recipient, locale = form.text("note"), form.text("recipient"), form.text("locale")

        def run() -> Outcome:
            return rec.act_on_step(
                incident_id,
                step,
                action,
                actor=actor,
                channel=viewer.channel,
                evidence=evidence,
                reason=reason,
                amount=amount,
                alternatives=alternatives,
                note=note,
                recipient=recipient,
                locale=locale,
                expected_version=version,
            )

        return run

    def success(outcome: Outcome) -> str:
        after = outcome.incident.state.steps.get(step)
        title = after.title if after else step
        status = STEP_STATUS.get(after.status, humanise(after.status)) if after else "updated"
        return f"{title}: {status}."

    return await _act(
        request, incident_id, f"step:{step}:{action}", build, success, f"#step-{step}"
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


COMMANDS: dict[str, tuple[Callable[[Form], IncidentCommand], str, str]] = {
    "pushes": (
        lambda f: RecordPush(asked_for=f.get("asked_for"), step=f.text("step")),
        "Recorded: the customer had to ask. It counts as a push.",
        "#timeline",
    ),
    "contacts": (
        lambda f: RecordContact(
            channel=f.get("channel"),
            direction=f.get("direction"),
            summary=f.get("summary"),
        ),
        "Contact recorded.",
        "#contacts",
    ),
    "handoffs": (
        lambda f: HandOff(
            to=f.get("to").strip(), to_role=f.text("to_role"), context=f.get("context")
        ),
        "Handed off, with its context.",
        "",
    ),
    "notes": (lambda f: AddNote(text=f.get("text")), "Note added.", "#timeline"),
    "cues": (
        lambda f: ReportCues(cues=f.getlist("cues")),
        "Cues recorded.",
        "",
    ),
    "escalate": (
        lambda f: Escalate(reason=f.get("reason")),
        "Escalated: a manager is notified.",
        "",
    ),
    "release": (
        lambda f: Release(reason=f.get("reason"), referral=f.get("referral")),
        "Released, with a referral.",
        "",
    ),
    "close": (lambda f: Close(summary=f.text("summary")), "Incident closed.", ""),
    "reopen": (lambda f: Reopen(reason=f.get("reason")), "Incident reopened.", ""),
}


# ---------------------------------------------------------------------------- status links


@router.post("/web/incidents/{incident_id}/status-links", response_model=None)
async def create_status_link(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    await read_form(request, viewer.csrf)
    ctx = web(request)
    await _visible(request, viewer, incident_id)
    token = await ctx.api.runner.write(ctx.links.create, incident_id, viewer.name, ctx.now())
    link = f"{str(request.base_url).rstrip('/')}/status/{token}"
    return redirect(
        f"{incident_url(incident_id)}#customer-link",
        "A status link for the customer: send it now, it is shown only this once.",
        link=link,
    )


@router.post("/web/incidents/{incident_id}/status-links/revoke", response_model=None)
async def revoke_status_links(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    await read_form(request, viewer.csrf)
    ctx = web(request)
    await _visible(request, viewer, incident_id)
    count = await ctx.api.runner.write(ctx.links.revoke_all, incident_id, ctx.now())
    return redirect(
        f"{incident_url(incident_id)}#customer-link",
        f"{count} status link(s) revoked: they no longer open the status page.",
    )


@router.post("/web/incidents/{incident_id}/{command}", response_model=None)
async def incident_command(request: Request, incident_id: str, command: str) -> Response:
    found = COMMANDS.get(command)
    if found is None:
        raise not_found("page")
    make, message, anchor = found
    return await _act(
        request,
        incident_id,
        f"cmd:{command}",
        _command(web(request).api.rec, incident_id, make),
        lambda _outcome: message,
        anchor,
    )


# ---------------------------------------------------------------------------- letters


@router.get("/web/incidents/{incident_id}/letters/{step}", response_model=None)
async def letter(request: Request, incident_id: str, step: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    check_code(step, "letter")
    await _visible(request, viewer, incident_id)
    ctx = web(request)
    try:
        html = await ctx.api.runner.read(ctx.api.rec.render_letter_html, incident_id, step)
    except CommandRejectedError as exc:
        raise PageError(404, "No letter", str(exc)) from None
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:; frame-ancestors 'none'; base-uri 'none'",
        },
    )


# ---------------------------------------------------------------------------- fallback

fallback = APIRouter(route_class=WebRoute, include_in_schema=False)


@fallback.api_route("/web/{rest:path}", methods=["GET", "POST"], response_model=None)
async def no_such_page(request: Request, rest: str) -> Response:
    """Any other address under /web: a page that says so (the JSON API keeps its 404s)."""
    raise not_found("page")
