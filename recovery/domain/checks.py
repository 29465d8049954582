"""The checks a command passes before anything is recorded: who may act, what a voucher
code must look like, and which amounts need a manager's approval.
"""

from __future__ import annotations

from typing import Any

from recovery.domain.commands import Actor
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.playbook import StepDef
from recovery.domain.state import StepState
from recovery.errors import (
    CommandRejectedError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
)

READ_ONLY_ROLES = frozenset({"auditor"})
SYSTEM_ROLE = "system"
APPROVER_ROLES = frozenset({"manager"})


def check_may_write(actor: Actor) -> None:
    if actor.role in READ_ONLY_ROLES:
        raise PermissionDeniedError(f"the {actor.role} role can read incidents but not change them")


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
        f"only the engine's own worker records {action} on step {step.id!r}{hint}", field="name"
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
        raise NotAllowedNowError(
            f"{why}; request approval first ({step.id}.request_approval)",
            state=f"{step.id}:{step.status}",
            allowed=[f"{step.id}.request_approval", f"{step.id}.complete"],
        )


def payment_limit(compiled: CompiledPlaybook, role: str) -> float | None:
    limit = compiled.playbook.limits.get(role)
    return None if limit is None else limit.max_amount


def required(value: str | None, field: str, message: str) -> str:
    if not value:
        raise CommandRejectedError(message, field=field)
    return value
