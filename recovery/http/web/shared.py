"""What the incident pages share: the incident as the viewer may see it, its address, and a
refused form's fields in words."""

from __future__ import annotations

from fastapi import Request
from pydantic import ValidationError

from recovery.http.web.context import Viewer, web
from recovery.http.web.errors import not_found
from recovery.http.web.forms import check_id
from recovery.http.web.present import humanise
from recovery.service.engine import IncidentView

FIELD_LABELS = {
    "incident_type": "Type",
    "site": "Property",
    "customer.name": "Customer name",
    "customer.contact": "Contact",
    "customer.member_since": "Member since",
    "customer.language": "Language",
    "customer.order_value": "Business at stake",
    "cues": "Cues",
    "summary": "What went wrong",
    "asked_for": "What the customer asked for",
    "channel": "Channel",
    "direction": "Direction",
    "to": "Hand off to",
    "to_role": "Their role",
    "context": "Context for the next owner",
    "text": "Note",
    "reason": "Reason",
    "referral": "Referral",
    "alternatives": "Alternatives",
    "amount": "Amount",
}


def incident_url(incident_id: str) -> str:
    return f"/web/incidents/{incident_id}"


def validation_message(exc: ValidationError) -> tuple[str, str | None]:
    parts = []
    first_field: str | None = None
    for error in exc.errors():
        loc = ".".join(str(p) for p in error.get("loc", ()))
        first_field = first_field or loc
        label = FIELD_LABELS.get(loc, humanise(loc.split(".")[-1]).capitalize() if loc else "")
        message = str(error.get("msg", "is not valid"))
        if error.get("type") == "missing":
            message = "is required"
        elif error.get("type") == "string_too_short":
            limit = (error.get("ctx") or {}).get("min_length", 1)
            message = "is required" if limit == 1 else f"needs at least {limit} characters"
        elif error.get("type") == "string_pattern_mismatch":
            message = "has characters that are not allowed here"
        parts.append(f"{label}: {message}" if label else message)
    return "; ".join(parts) or "the form is not valid", first_field


async def visible_incident(request: Request, viewer: Viewer, incident_id: str) -> IncidentView:
    """The incident, if it exists at one of the viewer's properties (else: not found)."""
    ctx = web(request)
    check_id(incident_id)
    view = await ctx.api.runner.read(ctx.api.rec.get, incident_id)
    if not viewer.may_see(view.state.site):
        raise not_found("incident")
    ctx.api.sites.put(incident_id, view.state.site)
    return view
