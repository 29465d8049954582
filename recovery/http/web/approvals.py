"""Awaiting my approval: each request at the manager's properties, with what a decision
needs (amount, the requester's limit, reason, requester) and the approve / decline forms
of the incident page itself."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from fastapi import APIRouter, Request
from starlette.responses import Response

from recovery.domain.checks import APPROVER_ROLES
from recovery.http.web.context import signed_in, web
from recovery.http.web.errors import PageError
from recovery.http.web.live import live
from recovery.http.web.present_forms import ActionForm, FieldSpec
from recovery.http.web.present_steps import _step_form
from recovery.http.web.responses import WebRoute, render
from recovery.http.web.shared import incident_url
from recovery.http.web.translations import N_
from recovery.service.approvals import ApprovalRequest, approval_queue
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

QUEUE = "/web/approvals"
DECISIONS = ("grant_approval", "deny_approval")


@dataclass(frozen=True)
class QueueRow:
    request: ApprovalRequest
    url: str
    forms: tuple[ActionForm, ...]


@router.get(QUEUE, response_model=None)
async def approvals(request: Request, after: str = "") -> Response:
    viewer = await signed_in(request, Permission.READ)
    if viewer.role not in APPROVER_ROLES:
        raise PageError(403, N_("Not for your role"), N_("Only a manager approves payments."))
    ctx = web(request)
    rec = ctx.api.rec
    waiting, next_after = await ctx.api.runner.read(
        live(request).approvals.for_manager, viewer.role, viewer.sites, after[:64] or None
    )
    found = await ctx.api.runner.read(approval_queue, rec, waiting)
    rows = []
    for req, view in found:
        compiled = rec.playbook_of(view.state)
        step = view.state.steps[req.step_id]
        base = incident_url(req.incident_id)
        forms = []
        if viewer.can_write:
            for action in DECISIONS:
                if f"{req.step_id}.{action}" not in view.allowed:
                    continue
                form = _step_form(compiled, view.state, step, action, base)
                forms.append(
                    dataclasses.replace(
                        form,
                        key=f"{req.incident_id}:{form.key}",
                        version=view.state.version,
                        fields=(*form.fields, FieldSpec("back", "", "hidden", default=QUEUE)),
                    )
                )
        rows.append(QueueRow(req, base, tuple(forms)))
    return render(
        request,
        "approvals.html",
        viewer,
        rows=rows,
        values={},
        problem=None,
        next_after=next_after,
    )
