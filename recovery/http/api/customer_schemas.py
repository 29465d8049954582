"""Response and request models of the customer-facing routes: status links, the letter
preview, the recovery score and the customer's history."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from recovery.http.api.schemas import OutcomeRead, ReadModel


class LinkRead(ReadModel):
    id: str = Field(description="names the link (to revoke it); it opens nothing")
    incident_id: str
    created_by: str
    created_at: str
    revoked_at: str | None
    active: bool


class LinkList(ReadModel):
    incident_id: str
    items: list[LinkRead]


class NewLinkRead(ReadModel):
    id: str
    token: str = Field(description="the secret part of the link: in this response only")
    url: str | None = Field(description="the customer's page (null: the address is unknown)")


class LinkSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    via: str = Field(
        default="email",
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="email (the mailer sends it), or a channel the back office delivers "
        "from a `notify_customer` webhook (sms, whatsapp, ...)",
    )
    recipient: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="default: the customer's contact",
    )


class LinkSent(ReadModel):
    link: NewLinkRead
    outcome: OutcomeRead


class ScoreRead(ReadModel):
    incident_id: str
    recovery_score: int = Field(ge=0, le=100)
    pushes: int
    handoffs: int
    missed_deadlines: int
    late_steps: int


class LetterPreviewRead(ReadModel):
    incident_id: str
    step_id: str
    locale: str
    subject: str
    text: str
    html: str
    recipient: str | None


def link_dict(info: Any) -> dict[str, Any]:
    data: dict[str, Any] = info.to_dict()
    return data


class PromiseRead(ReadModel):
    incident_id: str
    step: str
    title: str
    due_at: str
    late: bool


class CompensationRead(ReadModel):
    incident_id: str
    step: str
    title: str
    amount: float
    currency: str
    at: str


class EntryRead(ReadModel):
    at: str
    incident_id: str
    playbook: str
    actor: str
    channel: str
    type: str
    title: str
    text: str | None


class IncidentLineRead(ReadModel):
    incident_id: str
    opened_at: str
    site: str
    playbook: str
    status: str
    summary: str | None
    owner: str
    pushes: int
    recovery_score: int
    next_promise: PromiseRead | None


class CustomerRead(ReadModel):
    """One customer across their incidents at the caller's properties."""

    key: str
    name: str | None
    contact: str | None
    member_since: str | None
    incidents: list[IncidentLineRead] = Field(description="newest first")
    timeline: list[EntryRead] = Field(description="every incident's events, newest first")
    compensation: list[CompensationRead]
    compensation_total: dict[str, float] = Field(description="by currency")
    pushes: int
    open_promises: list[PromiseRead] = Field(description="nearest deadline first")
