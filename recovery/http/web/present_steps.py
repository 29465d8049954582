"""What a step of the checklist shows, computed from the engine's state: its status, its
evidence in words, and the form for each action allowed on it now (plain data for the
templates, which escape it all)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from recovery.domain.checks import APPROVER_ROLES
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.describe import humanise, label_of, money_fields, show_value
from recovery.domain.playbook import EvidenceField
from recovery.domain.queries import resolved_states
from recovery.domain.state import IncidentState, StepState
from recovery.domain.words import say
from recovery.http.web.i18n import LANGUAGE_NAMES, LOCALES, pick_locale
from recovery.http.web.present import ACTION_LABELS, STEP_STATUS
from recovery.http.web.present_forms import ActionForm, FieldSpec
from recovery.http.web.translations import N_
from recovery.letters import sends_letters
from recovery.service.engine import IncidentView

MANAGER_ACTIONS = frozenset({"waive", "grant_approval", "deny_approval"})


@dataclass(frozen=True)
class StepView:
    id: str
    title: str
    description: str | None
    kind: str
    owner: str
    status: str
    status_label: str
    resolved: bool
    required: bool
    due_at: str
    overdue: bool
    late: bool
    missed: bool
    pushed: int
    added_by: str | None
    evidence: list[tuple[str, str]]
    approval: str | None
    forms: list[ActionForm]
    push_form: ActionForm | None
    letter_url: str | None


def evidence_fields(
    compiled: CompiledPlaybook, step_id: str, action: str
) -> tuple[EvidenceField, ...]:
    return compiled.evidence_for(step_id, action)


def field_spec(
    compiled: CompiledPlaybook,
    step_id: str,
    f: EvidenceField,
    currency: str,
    siblings: Sequence[EvidenceField] = (),
) -> FieldSpec:
    """An evidence field as a form control, in the playbook's words (translated)."""
    said = compiled.said
    ftype: str = f.type
    if ftype == "text" and f.name in ("body", "answer", "outcome", "findings"):
        ftype = "textarea"
    help_text = said.help(step_id, f.name) if f.help else None
    if f.unless is not None and f.max is not None:
        named = {s.name for s in siblings if s.label}
        other = said.label(step_id, f.unless) if f.unless in named else humanise(f.unless)
        extra = say("up to {most}, unless “{other}” is ticked", most=f"{f.max:g}", other=other)
        help_text = say("{help}; {extra}", help=help_text, extra=extra) if help_text else extra
    return FieldSpec(
        name=f"ev.{f.name}",
        label=said.label(step_id, f.name),
        type=ftype,
        required=f.required and f.type != "bool",
        help=help_text,
        choices=tuple((c, said.choice(step_id, f.name, c)) for c in (f.choices or ())),
        min=f.min,
        # with `unless`, the server decides (and says why); the browser must not block it
        max=None if f.unless is not None else f.max,
        suffix=currency if f.type == "money" else None,
    )


def step_evidence(compiled: CompiledPlaybook, step: StepState) -> list[tuple[str, str]]:
    currency = compiled.playbook.currency
    money = money_fields(compiled, step.id)
    return [
        (
            label_of(compiled, step.id, name),
            show_value(value, money=currency if name in money else None),
        )
        for name, value in step.evidence.items()
        if value not in (None, "")
    ]


def _step_form(
    compiled: CompiledPlaybook,
    state: IncidentState,
    step: StepState,
    action: str,
    base: str,
) -> ActionForm:
    currency = compiled.playbook.currency
    label, button = ACTION_LABELS.get(action, (humanise(action).capitalize(),) * 2)
    url = f"{base}/steps/{step.id}/{action}"
    key = f"step:{step.id}:{action}"
    written = sends_letters(compiled, step.kind)
    if written and action == "draft":
        voucher = compiled.steps[step.id].voucher
        note: str | None = (
            say("Drafting issues the {kind} certificate's code.", kind=humanise(voucher.kind))
            if voucher is not None
            else None
        )
        fields: tuple[FieldSpec, ...] = (
            FieldSpec(
                "note",
                N_("A personal paragraph for the letter"),
                "textarea",
                help=N_("optional: the rest of the letter comes from the playbook's template"),
            ),
        )
        return ActionForm(key, url, label, button, fields, note)
    if written and action == "request_send":
        contact = str(state.customer.get("contact") or "")
        language = pick_locale(str(state.customer.get("language") or "en"))
        fields = (
            FieldSpec(
                "recipient",
                N_("Send to (e-mail address)"),
                "email",
                help=say("empty: the customer's contact ({contact})", contact=contact)
                if contact
                else N_("empty: the customer's contact"),
                default=str(step.evidence.get("recipient") or ""),
            ),
            FieldSpec(
                "locale",
                N_("Language of the letter"),
                "choice",
                required=True,
                choices=tuple((code, LANGUAGE_NAMES[code]) for code in LOCALES),
                default=language,
            ),
        )
        note = N_(
            "The mail worker sends it and records it as sent once the mail server accepts it."
        )
        return ActionForm(key, url, label, button, fields, note)
    if action == "waive":
        fields = (FieldSpec("reason", N_("Why this step is waived"), "textarea", required=True),)
        return ActionForm(key, url, label, button, fields, danger=True)
    if action == "request_approval":
        fields = (
            FieldSpec(
                "amount", N_("Amount to approve"), "money", required=True, min=0, suffix=currency
            ),
            FieldSpec("reason", N_("Why (for the manager)"), "textarea"),
        )
        return ActionForm(key, url, label, button, fields)
    if action == "grant_approval":
        requested = (step.approval or {}).get("requested_amount")
        note = (
            say("Requested: {amount}", amount=show_value(requested, money=currency))
            if requested
            else None
        )
        return ActionForm(key, url, label, button, (FieldSpec("reason", N_("Note"), "text"),), note)
    if action == "deny_approval":
        fields = (
            FieldSpec(
                "alternatives",
                N_("Alternatives offered to the customer (one per line)"),
                "textarea",
                required=True,
                help=N_("a decline is never a bare no"),
            ),
            FieldSpec("reason", N_("Why"), "text"),
        )
        return ActionForm(key, url, label, button, fields)
    asked = evidence_fields(compiled, step.id, action)
    fields = tuple(field_spec(compiled, step.id, f, currency, asked) for f in asked)
    return ActionForm(key, url, label, button, fields)


def step_views(
    view: IncidentView,
    compiled: CompiledPlaybook,
    now_iso: str,
    *,
    role: str,
    can_write: bool,
    base: str,
) -> list[StepView]:
    state = view.state
    resolved = resolved_states(compiled)
    out: list[StepView] = []
    for step in state.steps.values():
        done = step.status in resolved[step.kind]
        forms: list[ActionForm] = []
        if can_write:
            for allowed in view.allowed:
                step_id, _, action = allowed.partition(".")
                if step_id != step.id or not action:
                    continue
                if action in MANAGER_ACTIONS and role not in APPROVER_ROLES:
                    continue
                form = _step_form(compiled, state, step, action, base)
                forms.append(dataclasses.replace(form, version=state.version))
        push_form = None
        if can_write and not done and view.status in ("open", "escalated"):
            push_form = ActionForm(
                f"step:{step.id}:push",
                f"{base}/pushes",
                N_("The customer had to ask for this"),
                N_("Record that the customer asked"),
                (
                    FieldSpec(
                        "asked_for",
                        N_("What the customer asked for"),
                        required=True,
                        default=compiled.said.step_title(step.id),
                    ),
                    FieldSpec("step", N_("Step"), "hidden", default=step.id),
                ),
                note=N_("Recorded honestly: it counts against the recovery score."),
            )
        approval = None
        if step.approval:
            a = step.approval
            currency = compiled.playbook.currency
            if a.get("status") == "requested":
                approval = say(
                    "{amount} requested by {person}, waiting for a manager",
                    amount=show_value(a.get("requested_amount"), money=currency),
                    person=a.get("requested_by"),
                )
            elif a.get("status") == "granted":
                approval = say(
                    "{amount} approved by {person}",
                    amount=show_value(a.get("granted_amount"), money=currency),
                    person=a.get("decided_by"),
                )
            elif a.get("status") == "denied":
                approval = say(
                    "declined by {person}; alternatives offered: {alternatives}",
                    person=a.get("decided_by"),
                    alternatives="; ".join(str(x) for x in a.get("alternatives", [])),
                )
        letter_url = None
        if sends_letters(compiled, step.kind) and step.status != "open":
            letter_url = f"{base}/letters/{step.id}"
        out.append(
            StepView(
                id=step.id,
                title=compiled.said.step_title(step.id),
                description=compiled.said.step_descriptions.get(step.id),
                kind=step.kind,
                owner=compiled.said.role(step.owner),
                status=step.status,
                status_label=STEP_STATUS.get(step.status, humanise(step.status)),
                resolved=done,
                required=step.required,
                due_at=step.due_at,
                overdue=not done and step.due_at <= now_iso,
                late=step.late,
                missed=step.missed,
                pushed=step.pushed,
                added_by=step.added_by,
                evidence=step_evidence(compiled, step),
                approval=approval,
                forms=forms,
                push_form=push_form,
                letter_url=letter_url,
            )
        )
    return out
