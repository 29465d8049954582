"""One incident as a subject access export writes it (`PersonalData.export_customer`):
its profile, the staff timeline (English, texts included), the timeline as the customer
reads it in their language (`letters.customer_status`: the same content as their status
page), its letters as sent and its status links."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from recovery.domain.calendar import ALWAYS_OPEN
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.describe import describe
from recovery.domain.state import Event, IncidentState, iso
from recovery.domain.updates import customer_updates
from recovery.letters.customer_status import customer_status
from recovery.letters.i18n import pick_locale
from recovery.letters.written import letter_zone
from recovery.service.ports import Storage
from recovery.service.ports.incidents import IncidentLog
from recovery.sites import Sites


class _Engine(Protocol):
    storage: Storage
    log: IncidentLog
    sites: Sites
    clock: Callable[[], datetime]

    def playbook_of(self, state: IncidentState) -> CompiledPlaybook: ...


def incident_export(engine: _Engine, state: IncidentState) -> dict[str, Any]:
    compiled = engine.playbook_of(state)
    events = engine.log.events(state.id)
    letters = [letter.to_dict(content=True) for letter in engine.storage.letters.list(state.id)]
    links = [
        {
            "created_at": iso(link.created_at),
            "revoked_at": iso(link.revoked_at) if link.revoked_at else None,
        }
        for link in engine.storage.links.list_links(state.id)
    ]
    return {
        "incident_id": state.id,
        "site": state.site,
        "playbook": compiled.playbook.title,
        "status": state.status,
        "opened_at": state.opened_at,
        "ended_at": state.ended_at,
        "erased_at": state.erased_at,
        "language": state.customer.get("language"),
        "customer": state.customer,
        "summary": state.summary,
        "customer_summary": state.customer_summary,
        "external_ref": state.external_ref,
        "timeline": _staff_timeline(events, compiled),
        "customer_timeline": _as_customer_reads_it(engine, state, compiled, events),
        "letters": letters,
        "status_links": links,
    }


def _staff_timeline(events: list[Event], compiled: CompiledPlaybook) -> list[dict[str, Any]]:
    timeline = []
    for event in events:
        said = describe(event, compiled)
        timeline.append(
            {
                "seq": event.seq,
                "at": event.recorded_at,
                "type": event.type,
                "by": event.actor,
                "title": said.title,
                "text": said.text,
                "details": [{"label": k, "value": v} for k, v in said.details],
                "data": event.data,
            }
        )
    return timeline


def _as_customer_reads_it(
    engine: _Engine, state: IncidentState, compiled: CompiledPlaybook, events: list[Event]
) -> dict[str, Any]:
    """The status page's contents in the customer's language (English where there are no
    words in it), times in the property's zone (its calendar's, else the letters')."""
    calendar = engine.sites.calendar(state.site)
    status = customer_status(
        state,
        compiled,
        pick_locale(str(state.customer.get("language") or "")),
        letter_zone(),
        engine.clock(),
        None if calendar is ALWAYS_OPEN else calendar,
        customer_updates(events),
    )
    return status.as_read()
