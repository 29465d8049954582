"""The playbook model: what a playbook file may say, validated with pydantic.

A playbook declares the WHOLE recovery bundle for an incident type. Every step opens
when the incident opens; there is deliberately no way to make a step wait for anything
(see `WAITING_KEYS` in the loader, which explains that to authors who try).
"""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from recovery.domain.durations import StepDue, Validity
from recovery.domain.playbook_translations import (
    PlaybookTranslation,
    StepTranslation,
)
from recovery.domain.playbook_types import (
    MAX_AMOUNT,
    Amount,
    Identifier,
    Label,
    Language,
    Prose,
    Slug,
    _Strict,
)
from recovery.domain.said import N_

# The roles the engine's users and tokens have (`recovery.service.principal.ROLES`);
# a playbook may name others (teams) by declaring them in `roles`.
STAFF_ROLES = ("front_desk", "manager", "auditor", "integration", "admin")


FINISHING_ACTIONS = ("complete", "send")

# Voucher and certificate codes: no 0/O, 1/I, so a code read aloud or typed from paper is
# read right. 32 symbols: 5 bits each (12 symbols: 60 bits, never guessed by trying).
VOUCHER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class EvidenceField(_Strict):
    """One piece of evidence an action asks for, with the rules on it."""

    name: Identifier
    type: Literal["text", "number", "money", "bool", "choice", "date"] = "text"
    label: Label | None = None
    help: Prose | None = None
    required: bool = True
    min: Amount | None = None
    max: Amount | None = None
    unless: Identifier | None = Field(
        default=None,
        description="a bool field of the same evidence that, when true, lifts `max` "
        "(e.g. the guest consents to a hotel further away)",
    )
    choices: list[Label] | None = Field(default=None, max_length=200)


class TransitionDef(_Strict):
    trigger: Identifier
    source: list[Identifier] | Identifier
    dest: Identifier

    def sources(self) -> list[str]:
        return [self.source] if isinstance(self.source, str) else list(self.source)


class KindDef(_Strict):
    """A step lifecycle, as data: compiled once into a `transitions` machine."""

    states: list[Identifier] = Field(min_length=2)
    initial: Identifier = "open"
    transitions: list[TransitionDef] = Field(min_length=1)
    resolved: list[Identifier] = Field(
        min_length=1, description="states in which the step counts as done for closing"
    )
    evidence: dict[Identifier, list[EvidenceField]] = Field(
        default_factory=dict, description="evidence every step of this kind asks per action"
    )
    system_actions: list[Identifier] = Field(
        default_factory=list,
        description="actions only the engine's own workers take (e.g. the mailer recording "
        "that a letter was accepted for delivery); never offered to people as allowed",
    )

    @model_validator(mode="after")
    def _system_actions_are_triggers(self) -> KindDef:
        triggers = {t.trigger for t in self.transitions}
        unknown = [a for a in self.system_actions if a not in triggers]
        if unknown:
            raise ValueError(f"system_actions {unknown} are not triggers of this kind")
        return self


class VoucherDef(_Strict):
    """A certificate or voucher the written step issues, e.g. a free night.

    The code (`PREFIX-XXXX-XXXX-XXXX`) is drawn at random when the letter is drafted and
    recorded in the step's evidence (`voucher_code`), so it is in the hash-chained log."""

    kind: Identifier = Field(description="what it is worth, e.g. free_night, voucher, credit")
    prefix: str = Field(pattern=r"^[A-Z][A-Z0-9]{0,7}$", description="e.g. FN for a free night")
    length: int = Field(default=12, ge=10, le=32, description="random symbols in the code")
    valid_for: Validity | None = Field(
        default=None, description="how long it is valid after it is issued, e.g. 365d"
    )

    def matches(self, code: str) -> bool:
        """True for a well-formed code of this voucher (not: one that was issued)."""
        head, _, tail = code.partition("-")
        symbols = tail.replace("-", "")
        return (
            head == self.prefix
            and len(symbols) == self.length
            and all(c in VOUCHER_ALPHABET for c in symbols)
        )


class StepDef(_Strict):
    id: Identifier
    kind: Identifier = "plain"
    title: str = Field(min_length=1, max_length=200)
    description: Prose | None = None
    customer_text: Prose | None = Field(
        default=None, description="how the step is described to the customer"
    )
    customer_next: Prose | None = Field(
        default=None,
        description="how the step is promised to the customer while it is still to do "
        "(letters list it under 'what happens next', with its deadline)",
    )
    translations: dict[Language, StepTranslation] = Field(
        default_factory=dict,
        description="the step's texts in other languages, by language code (da, id): "
        "the customer's and the staff's",
    )
    owner: Identifier = Field(description="the role that owns the step")
    due: StepDue = Field(
        description="deadline from the step's opening: elapsed ('4h') or in the site's "
        "business time ('4 business hours', '2 business days')"
    )
    required: bool = True
    evidence: list[EvidenceField] = Field(
        default_factory=list, description="what completing (or sending) the step needs"
    )
    amount_field: Identifier = Field(
        default="amount", description="compensation steps: the evidence field holding the amount"
    )
    approval: Literal["over_limit", "always"] = "over_limit"
    apology: bool = Field(
        default=False, description="this step is the apology (reports measure time to it)"
    )
    effect: Identifier | None = Field(
        default=None,
        description="a back-office effect to request when the step finishes, e.g. book_room",
    )
    voucher: VoucherDef | None = Field(
        default=None,
        description="written steps: a certificate or voucher with a unique code to issue",
    )

    @model_validator(mode="after")
    def _voucher_on_written_steps(self) -> StepDef:
        if self.voucher is not None and self.kind != "written":
            raise ValueError("only a written step (kind: written) can issue a voucher")
        return self


class RoleLimit(_Strict):
    max_amount: float = Field(
        ge=0,
        le=MAX_AMOUNT,
        allow_inf_nan=False,
        description="what this role may pay without approval",
    )


class CueCondition(_Strict):
    """All given conditions must hold."""

    tenure_years_at_least: float | None = Field(default=None, ge=0, le=200, allow_inf_nan=False)
    cues_any: list[Identifier] | None = None
    order_value_at_least: float | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False
    )
    segment_in: list[str] | None = None
    repeat_within_days: float | None = Field(
        default=None, gt=0, description="another incident of this customer in the last N days"
    )
    compensated_within_months: float | None = Field(
        default=None,
        gt=0,
        description="compensation already given to this customer in the last N months "
        "(a month counts as 30 days)",
    )


class CueRule(_Strict):
    id: Identifier
    when: CueCondition
    raise_tier_to: int = Field(default=1, ge=1, le=5)
    add_steps: list[Identifier] = Field(default_factory=list)
    notify: list[Identifier] = Field(default_factory=list)


class EscalationPolicy(_Strict):
    """What happens when a step's deadline passes with the step still open."""

    raise_tier_by: int = Field(default=1, ge=0, le=4)
    notify: list[Identifier] = Field(default_factory=lambda: ["manager"])
    effect: Identifier | None = Field(
        default="escalation", description="the back-office webhook to request"
    )


class CustomerUpdates(_Strict):
    """Which changes the customer is told of as they happen (besides the status page), and
    on which channel the back office tells them (a `notify_customer` webhook effect)."""

    notify: list[Literal["handoff", "deadline_moved"]] = Field(min_length=1, max_length=2)
    channel: Identifier = Field(description="the back office's channel: email, sms, ...")

    @field_validator("notify")
    @classmethod
    def _once_each(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each change at most once")
        return value


class Retention(_Strict):
    """How long the customer's personal data is kept after an incident ends; then the
    worker erases it (`domain.personal`: the record and its proof stay)."""

    personal_data: str = Field(
        pattern=r"^\s*[1-9][0-9]{0,2}\s+(days?|months?|years?)\s*$",
        description="e.g. '24 months', '3 years', '90 days' after the incident ended",
    )


class Playbook(_Strict):
    id: Slug
    version: int = Field(ge=1, le=1_000_000)
    title: str = Field(min_length=1, max_length=200)
    description: Prose | None = None
    translations: dict[Language, PlaybookTranslation] = Field(
        default_factory=dict,
        description="the playbook's title and description in other languages (da, id)",
    )
    incident_types: list[Slug] = Field(min_length=1)
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    roles: list[Identifier] = Field(
        default_factory=list,
        description="teams this playbook names as owners or to notify, besides the staff "
        f"roles ({', '.join(STAFF_ROLES)}); a name neither declared nor known is refused",
    )
    limits: dict[Identifier, RoleLimit] = Field(default_factory=dict)
    kinds: dict[Identifier, KindDef] = Field(
        default_factory=dict, description="extra or refined step lifecycles"
    )
    steps: list[StepDef] = Field(min_length=1)
    tier_steps: list[StepDef] = Field(
        default_factory=list, description="steps that cue rules add when they fire"
    )
    cue_rules: list[CueRule] = Field(default_factory=list)
    on_deadline_missed: EscalationPolicy = Field(default_factory=EscalationPolicy)
    close_requires: list[Identifier] | None = Field(
        default=None,
        description="steps that must be done or waived before closing "
        "(default: every required step)",
    )
    retention: Retention | None = Field(
        default=None,
        description="how long personal data is kept after an incident ends (default: the "
        "RECOVERY_RETENTION_MONTHS setting, else until erased on request)",
    )
    customer_updates: CustomerUpdates | None = Field(
        default=None,
        description="tell the customer of a hand-off or a moved deadline as it happens",
    )

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def step(self, step_id: str) -> StepDef:
        for step in (*self.steps, *self.tier_steps):
            if step.id == step_id:
                return step
        raise KeyError(step_id)


BUILTIN_KINDS: dict[str, KindDef] = {
    "plain": KindDef(
        states=["open", "done", "waived"],
        transitions=[
            TransitionDef(trigger="complete", source="open", dest="done"),
            TransitionDef(trigger="waive", source="open", dest="waived"),
        ],
        resolved=["done", "waived"],
    ),
    "compensation": KindDef(
        states=["open", "awaiting_approval", "approved", "done", "waived"],
        transitions=[
            TransitionDef(trigger="complete", source=["open", "approved"], dest="done"),
            TransitionDef(trigger="request_approval", source="open", dest="awaiting_approval"),
            TransitionDef(trigger="grant_approval", source="awaiting_approval", dest="approved"),
            TransitionDef(trigger="deny_approval", source="awaiting_approval", dest="open"),
            TransitionDef(
                trigger="waive", source=["open", "awaiting_approval", "approved"], dest="waived"
            ),
        ],
        resolved=["done", "waived"],
    ),
    # A letter: drafted (its voucher issued), queued for the mailer by staff (`request_send`),
    # and `sent` only when the mail server accepted it: the mail worker records that, as the
    # system, with the server's message id. A letter the mailer gave up on comes back
    # (`bounce`) to be corrected and sent again. `send` from drafted replays histories
    # recorded before the mailer existed; new ones cannot take it (it is a system action).
    "written": KindDef(
        states=["open", "drafted", "sending", "sent", "waived"],
        transitions=[
            TransitionDef(trigger="draft", source=["open", "drafted"], dest="drafted"),
            TransitionDef(trigger="request_send", source=["drafted", "sending"], dest="sending"),
            TransitionDef(trigger="send", source=["drafted", "sending"], dest="sent"),
            TransitionDef(trigger="bounce", source="sending", dest="drafted"),
            TransitionDef(trigger="waive", source=["open", "drafted", "sending"], dest="waived"),
        ],
        resolved=["sent", "waived"],
        system_actions=["send", "bounce"],
        evidence={
            "draft": [
                EvidenceField(
                    name="body",
                    label=N_("A personal paragraph for the letter"),
                    help=N_("optional: the letter itself comes from the playbook's template"),
                    required=False,
                ),
                EvidenceField(
                    name="voucher_code",
                    label=N_("Voucher or certificate code"),
                    help=N_("issued by the letters service when the step's playbook asks for one"),
                    required=False,
                ),
                EvidenceField(name="voucher_valid_until", type="date", required=False),
            ],
            "request_send": [
                EvidenceField(name="recipient", label=N_("Send to (e-mail address)")),
                EvidenceField(name="letter_id", label=N_("The letter queued for the mailer")),
                EvidenceField(name="letter_digest", label=N_("sha256 of the letter as queued")),
                EvidenceField(name="locale", label=N_("Language of the letter"), required=False),
            ],
            "send": [
                EvidenceField(name="letter_id", label=N_("The letter accepted for delivery")),
                EvidenceField(name="message_id", label=N_("Message id the mail server accepted")),
            ],
            "bounce": [
                EvidenceField(name="letter_id", label=N_("The letter that could not be delivered")),
                EvidenceField(name="error", label=N_("Why the mail server refused it")),
            ],
        },
    ),
}
