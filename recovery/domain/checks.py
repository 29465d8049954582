"""The checks a command passes before anything is recorded: who may act, what a voucher
code must look like, and which amounts need a manager's approval.
"""

from __future__ import annotations

from typing import Any

from recovery.domain.commands import Actor, StepAction
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.playbook import StepDef
from recovery.domain.state import StepState
from recovery.domain.words import evidence_label, role_title, say, step_title, words
from recovery.errors import (
    CommandRejectedError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
)

READ_ONLY_ROLES = frozenset({"auditor"})
SYSTEM_ROLE = "system"
APPROVER_ROLES = frozenset({"manager"})
MANAGER_ACTIONS = frozenset({"waive", "grant_approval", "deny_approval"})
"""Step actions only an approver may take."""
DECISIONS = frozenset({"waive", "request_approval", "grant_approval", "deny_approval"})


def check_may_write(actor: Actor) -> None:
    if actor.role in READ_ONLY_ROLES:
        raise PermissionDeniedError(
            f"the {actor.role} role can read incidents but not change them",
            plain=say(
                "An {role} can read incidents but not change them.", role=role_title(actor.role)
            ),
        )


def check_decision(
    compiled: CompiledPlaybook, step: StepState, command: StepAction, actor: Actor
) -> tuple[float | None, list[str], str | None]:
    """A waiver, an approval request or a manager's decision on one: who may take it and
    what it needs. The amount, alternatives and reason it records."""
    name, currency, who = command.name, compiled.playbook.currency, role_title(actor.role)
    if name in MANAGER_ACTIONS and actor.role not in APPROVER_ROLES:
        verb = {"waive": say("waive a step"), "grant_approval": say("approve")}.get(
            name, say("decline")
        )
        raise PermissionDeniedError(
            f"only a manager may {'waive a step' if name == 'waive' else words(name)}; "
            f"the {actor.role} role may not",
            field="name",
            plain=say("Only a manager may {verb}; the {who} may not.", verb=verb, who=who),
        )
    if name == "waive":
        return None, [], required(command.reason, "reason", "waiving a step needs a reason")
    if name == "request_approval":
        if command.amount is None:
            raise CommandRejectedError(
                "request_approval needs the amount to approve",
                field="amount",
                plain=say("Asking a manager to approve needs the amount."),
            )
        return command.amount, [], command.reason
    if name == "deny_approval":
        if not command.alternatives:
            raise CommandRejectedError(
                "a decline must offer the customer alternatives, never a bare no",
                field="alternatives",
            )
        return None, list(command.alternatives), command.reason
    requested = float((step.approval or {}).get("requested_amount", 0))
    limit = payment_limit(compiled, actor.role)
    if limit is not None and requested > limit:
        raise PermissionDeniedError(
            f"{requested:g} {currency} is above the {actor.role} limit of {limit:g} {currency}",
            field="amount",
            plain=say(
                "{requested} {currency} is above the {who}'s limit of {limit} {currency}.",
                requested=format(requested, "g"),
                currency=currency,
                who=who,
                limit=format(limit, "g"),
            ),
        )
    return requested, [], command.reason


def check_system_action(step: StepState, action: str, actor: Actor, can_request: bool) -> None:
    if actor.role == SYSTEM_ROLE:
        return
    hint = (
        f"; queue the letter with {step.id}.request_send and the mail worker records "
        f"{action} once the mail server has accepted it"
        if can_request
        else ""
    )
    raise PermissionDeniedError(
        f"only the engine's own worker records {action} on step {step.id!r}{hint}",
        field="name",
        plain=say(
            "Only the engine's own worker records this on step “{step}”; send the letter and "
            "the worker records it once it is accepted.",
            step=words(step.id),
        )
        if hint
        else say(
            "Only the engine's own worker records this on step “{step}”.", step=words(step.id)
        ),
    )


def check_voucher(
    definition: StepDef, step: StepState, action: str, evidence: dict[str, Any]
) -> None:
    """A written step with a voucher needs its code when drafted; once issued it is kept."""
    voucher = definition.voucher
    code = evidence.get("voucher_code")
    if code is None:
        if voucher is not None and action == "draft":
            raise InvalidEvidenceError(
                f"step {step.id!r} issues a {voucher.kind.replace('_', ' ')} voucher: draft the "
                "letter through the letters service, which issues its code "
                "(Recovery.draft_letter or act_on_step, or `recovery letters draft`)",
                field="evidence.voucher_code",
            )
        return
    if voucher is None:
        raise InvalidEvidenceError(
            f"step {step.id!r} issues no voucher", field="evidence.voucher_code"
        )
    if not voucher.matches(code):
        raise InvalidEvidenceError(
            f"{code!r} is not a code of this voucher: {voucher.prefix}- then "
            f"{voucher.length} random symbols",
            field="evidence.voucher_code",
        )
    issued = step.evidence.get("voucher_code")
    if issued is not None and issued != code:
        raise InvalidEvidenceError(
            f"step {step.id!r} already issued voucher {issued}; a new draft keeps that code",
            field="evidence.voucher_code",
        )


def check_amount(
    compiled: CompiledPlaybook,
    step: StepState,
    definition: StepDef,
    evidence: dict[str, Any],
    actor: Actor,
) -> None:
    amount = float(evidence.get(definition.amount_field, 0))
    currency = compiled.playbook.currency
    if step.status == "approved":
        granted = float((step.approval or {}).get("granted_amount", 0))
        if amount > granted:
            raise InvalidEvidenceError(
                f"{amount:g} {currency} is more than the {granted:g} {currency} approved",
                field=f"evidence.{definition.amount_field}",
                plain=say(
                    "{label}: {amount} {currency} is more than the {granted} {currency} approved.",
                    label=evidence_label(compiled, step.id, "complete", definition.amount_field),
                    amount=format(amount, "g"),
                    currency=currency,
                    granted=format(granted, "g"),
                ),
            )
        return
    limit = payment_limit(compiled, actor.role)
    if definition.approval == "always" or limit is None or amount > limit:
        why = (
            "this step always needs a manager's approval"
            if definition.approval == "always"
            else f"the {actor.role} role has no payment limit in this playbook"
            if limit is None
            else f"{amount:g} {currency} is above the {actor.role} limit of {limit:g} {currency}"
        )
        plain = (
            say("This step always needs a manager's approval")
            if definition.approval == "always"
            else say("The {who} has no payment limit in this playbook", who=role_title(actor.role))
            if limit is None
            else say(
                "{amount} {currency} is above the {who}'s limit of {limit} {currency}",
                amount=format(amount, "g"),
                currency=currency,
                who=role_title(actor.role),
                limit=format(limit, "g"),
            )
        )
        raise NotAllowedNowError(
            f"{why}; request approval first ({step.id}.request_approval)",
            state=f"{step.id}:{step.status}",
            allowed=[f"{step.id}.request_approval", f"{step.id}.complete"],
            plain=say(
                "{why}: ask a manager to approve {step} first, or complete it with a "
                "smaller amount.",
                why=plain,
                step=step_title(compiled, step.id),
            ),
        )


def payment_limit(compiled: CompiledPlaybook, role: str) -> float | None:
    limit = compiled.playbook.limits.get(role)
    return None if limit is None else limit.max_amount


def required(value: str | None, field: str, message: str) -> str:
    if not value:
        raise CommandRejectedError(message, field=field, plain=message.capitalize() + ".")
    return value
