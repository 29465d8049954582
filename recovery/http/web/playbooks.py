"""Playbook pages: every step of the bundle with its owner, deadline and evidence, and the
state diagrams (the incident's lifecycle and each step kind's) drawn as pictures."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.responses import Response

from recovery.domain.compiler import INCIDENT_STATES, INCIDENT_TRANSITIONS, SYSTEM_ACTIONS
from recovery.domain.durations import format_due
from recovery.domain.playbook import FINISHING_ACTIONS
from recovery.domain.queries import resolved_states
from recovery.domain.validation import kinds_of
from recovery.domain.words import say_list
from recovery.http.web.context import signed_in, web
from recovery.http.web.diagram import Transition, lifecycle_svg
from recovery.http.web.errors import PageError
from recovery.http.web.responses import WebRoute, render
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@dataclass(frozen=True)
class KindPicture:
    name: str
    steps: str
    svg: Markup
    transitions: list[tuple[str, str, str, bool]]


def incident_picture() -> Markup:
    moves = [
        Transition(
            "deadline missed (worker)" if t["trigger"] in SYSTEM_ACTIONS else str(t["trigger"]),
            tuple(t["source"]),
            str(t["dest"]),
            system=t["trigger"] in SYSTEM_ACTIONS,
        )
        for t in INCIDENT_TRANSITIONS
        if t["dest"] is not None
    ]
    return lifecycle_svg(
        "Incident lifecycle",
        list(INCIDENT_STATES),
        moves,
        initial="open",
        resolved=("closed", "released"),
    )


@router.get("/web/playbooks", response_model=None)
async def playbooks(request: Request) -> Response:
    viewer = await signed_in(request, Permission.PLAYBOOKS)
    catalog = web(request).api.rec.catalog
    return render(request, "playbooks.html", viewer, playbooks=catalog.latest())


@router.get("/web/playbooks/{playbook_id}", response_model=None)
async def playbook(request: Request, playbook_id: str, version: str = "") -> Response:
    viewer = await signed_in(request, Permission.PLAYBOOKS)
    catalog = web(request).api.rec.catalog
    wanted = int(version) if version.isdigit() and len(version) < 9 else None
    if version and wanted is None:
        raise PageError(400, "Not a version", f"{version!r} is not a playbook version")
    compiled = catalog.get(playbook_id, wanted)
    book = compiled.playbook
    kinds = kinds_of(book)
    resolved = resolved_states(compiled)
    pictures = []
    for name, life in sorted(compiled.kinds.items()):
        kind = kinds[name]
        moves = [
            Transition(t.trigger, tuple(t.sources()), t.dest, t.trigger in kind.system_actions)
            for t in kind.transitions
        ]
        pictures.append(
            KindPicture(
                name=name,
                steps=say_list(
                    compiled.said.step_title(s.id)
                    for s in (*book.steps, *book.tier_steps)
                    if s.kind == name
                ),
                svg=lifecycle_svg(
                    f"Step kind {name}",
                    list(kind.states),
                    moves,
                    initial=life.initial,
                    resolved=resolved[name],
                ),
                transitions=[
                    (source, t.trigger, t.dest, t.trigger in kind.system_actions)
                    for t in kind.transitions
                    for source in t.sources()
                ],
            )
        )
    steps = []
    for tier, group in ((False, book.steps), (True, book.tier_steps)):
        for step in group:
            actions = [a for a in FINISHING_ACTIONS if (step.id, a) in compiled.evidence]
            fields = [f for a in actions for f in compiled.evidence_for(step.id, a)]
            steps.append(
                {
                    "step": step,
                    "tier": tier,
                    "due": format_due(step.due),
                    "owner": compiled.said.role(step.owner),
                    "fields": [f for f in fields if f.name not in ("letter_id", "message_id")],
                    "added_by": [r.id for r in book.cue_rules if step.id in r.add_steps],
                }
            )
    versions = [c.playbook.version for c in catalog.all_versions() if c.playbook.id == book.id]
    return render(
        request,
        "playbook.html",
        viewer,
        book=book,
        words=compiled.said,
        adds={
            r.id: say_list(compiled.said.step_title(s) for s in r.add_steps) for r in book.cue_rules
        },
        digest=compiled.digest,
        steps=steps,
        pictures=pictures,
        incident_svg=incident_picture(),
        versions=sorted(versions),
    )
