"""The incident page: the checklist of every step with the forms allowed now, the
timeline, and, when a form was refused, what the engine said and what is allowed instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from recovery.domain.calendar import ALWAYS_OPEN
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.queries import allowed_for_role, next_step
from recovery.domain.state import iso
from recovery.domain.words import INCIDENT_ACTIONS, STEP_ACTIONS, say, say_list
from recovery.http.web.context import Viewer, signed_in, web
from recovery.http.web.customers import recent_history
from recovery.http.web.present import cue_choices, describe, humanise
from recovery.http.web.present_forms import incident_forms
from recovery.http.web.present_steps import step_views
from recovery.http.web.responses import WebRoute, render
from recovery.http.web.shared import incident_url, visible_incident
from recovery.service.engine import IncidentView
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _step_of(problem: Problem) -> str | None:
    kind, _, rest = problem.form.partition(":")
    return rest.partition(":")[0] if kind == "step" else None


@dataclass(frozen=True)
class Problem:
    """A refused form: what the engine said, on which form, and what is allowed now."""

    form: str
    message: str
    field: str | None = None
    status: int = 422
    changes: tuple[str, ...] = ()
    """a conflict: who changed what, when, since the page was shown"""


def allowed_labels(
    view: IncidentView, compiled: CompiledPlaybook, role: str, step_first: str | None = None
) -> tuple[list[str], list[str]]:
    """What the viewer's role can do now, in words: on the step the form was about, then
    the rest (no waiver or approval offered to a role that may not give one)."""
    here: list[str] = []
    rest: list[str] = []
    for action in allowed_for_role(view.allowed, role):
        step_id, dot, name = action.partition(".")
        if dot:
            label = say(
                "{step}: {action}",
                step=compiled.said.step_title(step_id),
                action=STEP_ACTIONS.get(name, humanise(name)),
            )
            (here if step_id == step_first else rest).append(label)
        else:
            rest.append(INCIDENT_ACTIONS.get(action, humanise(action)))
    return here, rest


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
    view = await visible_incident(request, viewer, incident_id)
    state = view.state
    compiled = rec.playbook_of(state)
    events = await ctx.api.runner.read(rec.timeline, incident_id)
    link_list = await ctx.api.runner.read(ctx.links.list, incident_id)
    links = sum(1 for link in link_list if link.active)
    history = await recent_history(request, viewer, state)
    users: list[str] = []
    if viewer.can_write:
        found = await ctx.api.runner.read(ctx.api.accounts.list_users)
        users = [
            u.username
            for u in found
            if u.active and u.username != state.owner and ("*" in u.sites or state.site in u.sites)
        ]
    now_iso = iso(ctx.now())
    calendar = rec.sites.calendar(state.site)
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
        playbook_title=compiled.said.title,
        cues_shown=say_list(compiled.said.cue(c) for c in state.cues),
        steps=steps,
        entries=[describe(e, compiled) for e in reversed(events)],
        pending=[compiled.said.step_title(s) for s in view.pending_for_close],
        problem=problem,
        problem_allowed=(
            allowed_labels(view, compiled, viewer.role, _step_of(problem)) if problem else ([], [])
        ),
        values=values or {},
        base=base,
        links=links,
        link_list=link_list,
        history=history,
        forms=forms,
        now_iso=now_iso,
        next_step=next_step(compiled, state, now_iso, viewer.role),
        # times in the property's zone (as on its status page), marked with it
        page_zone=ctx.zone if calendar is ALWAYS_OPEN else calendar.zone,
        worker=_worker_state(request),
    )


def _worker_state(request: Request) -> str:
    """Whether this server runs the worker: running, stopped (it failed) or none."""
    worker = getattr(request.app.state, "worker", None)
    if worker is None:
        return "none"
    return "running" if worker.running else "stopped"


@router.get("/web/incidents/{incident_id}", response_model=None)
async def incident(request: Request, incident_id: str) -> Response:
    viewer = await signed_in(request, Permission.READ)
    return await incident_page(request, viewer, incident_id)
