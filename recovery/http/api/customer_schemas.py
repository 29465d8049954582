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
