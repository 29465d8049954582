"""What the staff do on an incident: act on a step, the incident-level commands (contacts,
notes, hand-offs, escalation, closing...), and the customer's status links.

Every form posts to a route here that runs the engine command (through the API's runner,
so SQLite writes queue on one thread), then redirects to the incident with a message
(post/redirect/get). A refused command shows the incident again with the engine's own
message, what is allowed now, and the form still filled in as it was sent.
"""

from __future__ import annotations

from collections.abc import Callable
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from recovery.domain.calendar import ALWAYS_OPEN
from recovery.domain.commands import (
    AddNote,
    Close,
    Escalate,
    HandOff,
    Hold,
    IncidentCommand,
    RecordContact,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    Resume,
)
from recovery.domain.describe import CHANNELS as CHANNEL_WORDS
from recovery.domain.state import parse_iso
from recovery.domain.words import role_title, say, say_list
from recovery.errors import (
    CommandRejectedError,
    ConflictError,
    NotAllowedNowError,
    PermissionDeniedError,
)
from recovery.http.web.context import Viewer, WebContext, signed_in, web
from recovery.http.web.errors import BadForm, not_found
from recovery.http.web.forms import Form, check_code, check_id, read_form
from recovery.http.web.incident import Problem, incident_page
from recovery.http.web.present import STEP_STATUS, humanise
from recovery.http.web.responses import WebRoute, redirect
from recovery.http.web.shared import incident_url, validation_message, visible_incident
from recovery.http.web.translations import N_
from recovery.service.engine import Outcome, Recovery
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

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
    site = await ctx.api.runner.read(ctx.api.check_scope, viewer.principal, incident_id)
    problem: Problem | None = None
    try:
        outcome = await ctx.api.runner.write(build(viewer, form, _shown_version(form)))
    except ValidationError as exc:
        message, where = validation_message(exc)
        problem = Problem(form_key, message, where)
    except BadForm as exc:
        problem = Problem(form_key, str(exc), exc.field)
    except ConflictError as exc:
        zone = _property_zone(ctx, site)
        changes = [
            say(
                "{person} ({role}) at {when}: {what}",
                person=c["actor"],
                role=role_title(c["role"]),
                when=_minute(c["at"], zone),
                what=c["what"],
            )
            for c in exc.changes
        ]
        told = (
            say(
                "Someone else recorded something on this incident after you opened the page: "
                "{changes}. Check it below, then send the form again: what you typed is still "
                "in it.",
                changes=say_list(changes, "; "),
            )
            if changes
            else say(
                "Someone else recorded something on this incident after you opened the page. "
                "Check it below, then send the form again: what you typed is still in it."
            )
        )
        problem = Problem(form_key, told, status=409, changes=tuple(changes))
    except PermissionDeniedError as exc:
        problem = Problem(form_key, exc.plain or str(exc), exc.field, status=403)
    except NotAllowedNowError as exc:
        problem = Problem(form_key, exc.plain or str(exc), exc.field, status=409)
    except CommandRejectedError as exc:
        problem = Problem(form_key, exc.plain or str(exc), exc.field)
    if problem is not None:
        return await incident_page(
            request, viewer, incident_id, problem=problem, values=form.values()
        )
    if form.text("back") == "/web/approvals":  # decided from the queue: back to it
        return redirect("/web/approvals", success(outcome))
    return redirect(f"{incident_url(incident_id)}{anchor}", success(outcome))


def _property_zone(ctx: WebContext, site: str) -> ZoneInfo:
    """The zone the incident page writes its times in: the property's, else the server's."""
    calendar = ctx.api.rec.sites.calendar(site)
    return ctx.zone if calendar is ALWAYS_OPEN else calendar.zone


def _minute(at: str, zone: ZoneInfo) -> str:
    """`2026-07-04 16:00 CEST`: a change's time as the page around it shows times."""
    moment = parse_iso(at).astimezone(zone)
    return f"{moment:%Y-%m-%d %H:%M} {moment.tzname()}"


def _shown_version(form: Form) -> int | None:
    raw = form.text("version")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise BadForm(
            say("The page's incident version must be a number, not “{value}”", value=raw[:40]),
            "version",
        )
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
            raise BadForm(
                say("Amount must be a number, not “{value}”", value=str(raw_amount)[:40]),
                field="amount",
            ) from None
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
                seen_version=version,  # refused only if someone else touched this step
            )

        return run

    def success(outcome: Outcome) -> str:
        after = outcome.incident.state.steps.get(step)
        title = outcome.incident.compiled.said.step_title(step)
        if action == "deny_approval":  # the step is open again: "to do" would hide the "no"
            return say("{title}: declined; the alternatives are offered.", title=title)
        status = STEP_STATUS.get(after.status, humanise(after.status)) if after else "updated"
        return say("{title}: {status}.", title=title, status=say(status))

    return await _act(
        request, incident_id, f"step:{step}:{action}", build, success, f"#step-{step}"
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


COMMANDS: dict[str, tuple[Callable[[Form], IncidentCommand], str, str]] = {
    "pushes": (
        lambda f: RecordPush(asked_for=f.get("asked_for"), step=f.text("step")),
        N_("Recorded: the customer had to ask. It counts as a push."),
        "#timeline",
    ),
    "contacts": (
        lambda f: RecordContact(
            channel=f.get("channel"),
            direction=f.get("direction"),
            summary=f.get("summary"),
        ),
        N_("Contact recorded."),
        "#contacts",
    ),
    "handoffs": (
        lambda f: HandOff(
            to=f.get("to").strip(), to_role=f.text("to_role"), context=f.get("context")
        ),
        N_("Handed off, with its context."),
        "",
    ),
    "notes": (lambda f: AddNote(text=f.get("text")), N_("Note added."), "#timeline"),
    "cues": (
        lambda f: ReportCues(cues=f.getlist("cues")),
        N_("Cues recorded."),
        "",
    ),
    "escalate": (
        lambda f: Escalate(reason=f.get("reason")),
        N_("Escalated: a manager is notified."),
        "",
    ),
    "release": (
        lambda f: Release(reason=f.get("reason"), referral=f.get("referral")),
        N_("Released, with a referral."),
        "",
    ),
    "hold": (
        lambda f: Hold(reason=f.get("reason"), step=f.text("step")),
        N_("On hold: the clock stops until you resume."),
        "#holds",
    ),
    "resume": (
        lambda f: Resume(step=f.text("step")),
        N_("Resumed: deadlines moved by the time held."),
        "#holds",
    ),
    "close": (lambda f: Close(summary=f.text("summary")), N_("Incident closed."), ""),
    "reopen": (lambda f: Reopen(reason=f.get("reason")), N_("Incident reopened."), ""),
}


# ---------------------------------------------------------------------------- status links
# (declared before `/{command}` below, which would otherwise take `status-links`)


@router.post("/web/incidents/{incident_id}/status-links", response_model=None)
async def create_status_link(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    await read_form(request, viewer.csrf)
    ctx = web(request)
    await visible_incident(request, viewer, incident_id)
    token = await ctx.api.runner.write(ctx.links.create, incident_id, viewer.name, ctx.now())
    link = f"{str(request.base_url).rstrip('/')}/status/{token}"
    return redirect(
        f"{incident_url(incident_id)}#customer-link",
        N_("A status link for the customer: send it now, it is shown only this once."),
        link=link,
    )


def refused(message: str, exc: Exception) -> str:
    """A refusal for the flash: its plain words when it has them."""
    return say(message, why=getattr(exc, "plain", None) or str(exc))


@router.post("/web/incidents/{incident_id}/status-links/send", response_model=None)
async def send_status_link(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    form = await read_form(request, viewer.csrf)
    ctx = web(request)
    await visible_incident(request, viewer, incident_id)
    via = form.get("via", "email") or "email"
    if via not in ("email", "sms"):
        via = "email"
    try:
        sent = await ctx.api.runner.write(
            lambda: ctx.links.send(
                incident_id,
                via=via,
                recipient=form.text("recipient"),
                actor=viewer.principal.actor(),
                channel=viewer.channel,
                base_url=ctx.links.public_url or str(request.base_url).rstrip("/"),
            )
        )
    except CommandRejectedError as exc:
        return redirect(
            f"{incident_url(incident_id)}#customer-link",
            refused("Not sent: {why}", exc),
        )
    return redirect(
        f"{incident_url(incident_id)}#customer-link",
        say(
            "Status link sent by {via} to {recipient}.",
            via=CHANNEL_WORDS.get(via, via),
            recipient=sent.outcome.event.data["recipient"],
        ),
    )


@router.post("/web/incidents/{incident_id}/status-links/{link_id}/revoke", response_model=None)
async def revoke_status_link(request: Request, incident_id: str, link_id: str) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    await read_form(request, viewer.csrf)
    ctx = web(request)
    await visible_incident(request, viewer, incident_id)
    try:
        info = await ctx.api.runner.write(ctx.links.revoke, incident_id, link_id, ctx.now())
    except CommandRejectedError as exc:
        return redirect(
            f"{incident_url(incident_id)}#customer-link",
            refused("Not revoked: {why}", exc),
        )
    return redirect(
        f"{incident_url(incident_id)}#customer-link",
        say("Status link {link} revoked: it no longer opens the status page.", link=info.id),
    )


@router.post("/web/incidents/{incident_id}/status-links/revoke", response_model=None)
async def revoke_status_links(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.WRITE)
    await read_form(request, viewer.csrf)
    ctx = web(request)
    await visible_incident(request, viewer, incident_id)
    count = await ctx.api.runner.write(ctx.links.revoke_all, incident_id, ctx.now())
    return redirect(
        f"{incident_url(incident_id)}#customer-link",
        say("{count} status link(s) revoked: they no longer open the status page.", count=count),
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
