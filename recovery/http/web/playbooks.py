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
from recovery.domain.words import say, say_list
from recovery.http.web.context import signed_in, web
from recovery.http.web.diagram import Transition, lifecycle_svg
from recovery.http.web.errors import PageError
from recovery.http.web.present import FIELD_TYPES
from recovery.http.web.responses import WebRoute, page_locale, render
from recovery.http.web.translations import N_, translate
from recovery.service.principal import Permission

router = APIRouter(route_class=WebRoute, include_in_schema=False)

DIAGRAM_WORDS = {  # the built-in lifecycles' states and actions in the diagrams, in words
    "open": N_("open"),
    "escalated": N_("escalated"),
    "closed": N_("closed"),
    "released": N_("released"),
    "done": N_("done"),
    "waived": N_("waived"),
    "awaiting_approval": N_("awaiting approval"),
    "approved": N_("approved"),
    "drafted": N_("drafted"),
    "sending": N_("sending"),
    "sent": N_("sent"),
    "complete": N_("complete"),
    "waive": N_("waive"),
    "request_approval": N_("request approval"),
    "grant_approval": N_("approve"),
    "deny_approval": N_("decline"),
    "draft": N_("draft"),
    "request_send": N_("queue for sending"),
    "send": N_("mailer sends"),
    "bounce": N_("bounces"),
    "close": N_("close"),
    "escalate": N_("escalate"),
    "release": N_("release"),
    "reopen": N_("reopen"),
    "miss_deadlines": N_("deadline missed (worker)"),
}


@dataclass(frozen=True)
class KindPicture:
    name: str
    steps: str
    svg: Markup
    transitions: list[tuple[str, str, str, bool]]


class Words:
    """A diagram's states and actions in the page's language (a playbook's own, not in
    `DIAGRAM_WORDS`, keep their code)."""

    def __init__(self, locale: str) -> None:
        self.locale = locale

    def __call__(self, code: str) -> str:
        known = DIAGRAM_WORDS.get(code)
        return translate(self.locale, known) if known else code

    def described(self, states: list[str], moves: list[Transition]) -> str:
        """The text alternative of a diagram: its states and transitions in words."""
        each = [
            say(
                "{action} from {sources} to {state}",
                action=m.trigger,
                sources=", ".join(self(s) for s in m.sources),
                state=self(m.dest),
            )
            for m in moves
        ]
        said = say(
            "States: {states}. Transitions: {moves}.",
            states=", ".join(self(s) for s in states),
            moves=say_list(each, "; "),
        )
        return translate(self.locale, said)


def incident_picture(words: Words) -> Markup:
    moves = [
        Transition(
            words(str(t["trigger"])),
            tuple(t["source"]),
            str(t["dest"]),
            system=t["trigger"] in SYSTEM_ACTIONS,
        )
        for t in INCIDENT_TRANSITIONS
        if t["dest"] is not None
    ]
    return lifecycle_svg(
        translate(words.locale, N_("Incident lifecycle")),
        list(INCIDENT_STATES),
        moves,
        initial="open",
        resolved=("closed", "released"),
        name=words,
        described=words.described(list(INCIDENT_STATES), moves),
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
    words = Words(page_locale(request, viewer))
    pictures = []
    for name, life in sorted(compiled.kinds.items()):
        kind = kinds[name]
        moves = [
            Transition(
                words(t.trigger), tuple(t.sources()), t.dest, t.trigger in kind.system_actions
            )
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
                    translate(words.locale, say("Step kind {name}", name=name)),
                    list(kind.states),
                    moves,
                    initial=life.initial,
                    resolved=resolved[name],
                    name=words,
                    described=words.described(list(kind.states), moves),
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
        rule_cues={  # the cues in the playbook's words (its `cues` translations)
            r.id: say_list((compiled.said.cue(c) for c in r.when.cues_any or ()), " / ")
            for r in book.cue_rules
        },
        rule_roles={
            r.id: say_list(compiled.said.role(x) for x in r.notify) for r in book.cue_rules
        },
        digest=compiled.digest,
        steps=steps,
        pictures=pictures,
        incident_svg=incident_picture(words),
        diagram_word=words,
        versions=sorted(versions),
        field_types=FIELD_TYPES,
    )
