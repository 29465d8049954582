"""What the customer reads of an incident, in their language: the steps done and next with
their times in the property's zone (marked), the updates, the status. The status page
(`http/web/status.py`) draws it; a subject access export (`service/privacy.py`) writes it.

It holds only the playbook's customer texts, deadlines and the customer's own updates: no
internal notes, no evidence, no staff names, nothing of any other incident.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from recovery.domain.calendar import BusinessCalendar, BusinessTime
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.queries import resolved_states
from recovery.domain.state import IncidentState, iso, parse_iso
from recovery.domain.updates import CustomerUpdate
from recovery.letters.customer_words import step_text, words
from recovery.letters.i18n import format_datetime

# Resolved states that mean "we decided not to": not shown to the customer as done.
NOT_DONE = frozenset({"waived"})


@dataclass(frozen=True)
class CustomerStep:
    text: str
    when: str
    late: bool = False


@dataclass(frozen=True)
class CustomerStatus:
    locale: str
    place: str
    status: str
    opened: str
    updated: str
    done: list[CustomerStep]
    next: list[CustomerStep]
    eta: str | None
    referral: str | None
    waiting: list[str]
    """what we are waiting for from the customer (steps on hold)"""
    zone: str
    """the time zone the times are written in, as its abbreviation (CET, WIB, ...)"""
    updates: list[CustomerStep] = field(default_factory=list)

    def as_read(self) -> dict[str, Any]:
        """The page's texts as the customer reads them, in order (for an export)."""
        w = words(self.locale)
        active = self.status in ("open", "escalated")
        if self.status == "closed":
            standing = w["closed"]
        elif self.status == "released":
            standing = w["released"] + (f" {self.referral}" if self.referral else "")
        elif self.eta:
            standing = w["eta"].format(when=self.eta)
        else:
            standing = None

        def steps(items: list[CustomerStep]) -> list[dict[str, Any]]:
            return [
                {"text": s.text, "when": s.when, **({"late": w["late"]} if s.late else {})}
                for s in items
            ]

        return {
            "locale": self.locale,
            "title": w["title"],
            "place": self.place,
            "opened": w["opened"].format(when=self.opened),
            "status": self.status,
            "standing": standing,
            "waiting": [w["waiting"].format(reason=r) for r in self.waiting],
            "next_title": w["next"] if active else None,
            "next": steps(self.next) if active else [],
            "updates_title": w["updates"],
            "updates": steps(self.updates),
            "done_title": w["done"],
            "done": steps(self.done) or [{"text": w["nothing_done"]}],
            "times": w["times_in"].format(place=self.place, zone=self.zone),
            "updated": w["updated"].format(when=self.updated),
        }


def place_name(site: str) -> str:
    """`ribe-central` as a customer reads it: Ribe Central."""
    return " ".join(p[:1].upper() + p[1:] for p in re.split(r"[-_.\s]+", site) if p) or site


def customer_status(
    state: IncidentState,
    compiled: CompiledPlaybook,
    locale: str,
    zone: ZoneInfo,
    now: datetime,
    calendar: BusinessCalendar | None = None,
    updates: Sequence[CustomerUpdate] = (),
) -> CustomerStatus:
    """The customer's view of the incident. Times are written in the property's zone (its
    calendar's, else `zone`) and marked with it; a business-time deadline on the next day
    the property opens says so. An erased incident shows no hold reason nor referral
    (they read as redacted)."""
    w = words(locale)
    resolved = resolved_states(compiled)
    if calendar is not None:
        zone = calendar.zone
    holds = state.holds or {}
    erased = state.erased_at is not None

    def at(value: str) -> str:
        moment = parse_iso(value).astimezone(zone)
        return f"{format_datetime(moment, locale)} ({moment.tzname()})"

    def by(step_id: str, due_at: str) -> str:
        if step_id in holds:
            return w["waiting_step"].format(reason=holds[step_id]["reason"])
        definition = compiled.steps.get(step_id)
        if calendar is not None and definition and isinstance(definition.due, BusinessTime):
            today = now.astimezone(zone).date()
            due_day = parse_iso(due_at).astimezone(zone).date()
            if due_day != today and due_day == calendar.next_working_day(today):
                return w["by"].format(when=w["next_working_day"].format(when=at(due_at)))
        return w["by"].format(when=at(due_at))

    done: list[tuple[str, CustomerStep]] = []
    upcoming: list[tuple[str, CustomerStep]] = []
    upcoming_dues: list[tuple[str, str]] = []
    now_iso = iso(now)
    for step in state.steps.values():
        definition = compiled.steps.get(step.id)
        is_resolved = step.status in resolved[step.kind]
        if is_resolved and step.status in NOT_DONE:
            continue
        if is_resolved:
            text = (step_text(definition, locale, done=True) if definition else None) or w[
                "generic_done"
            ]
            when = step.resolved_at or state.updated_at
            done.append((when, CustomerStep(text, at(when))))
        elif state.status in ("open", "escalated") and step.required:
            # An optional step (a credit "where it is due") is no promise until it is done.
            text = (step_text(definition, locale, done=False) if definition else None) or w[
                "generic_next"
            ]
            upcoming_dues.append((step.id, step.due_at))
            upcoming.append(
                (
                    step.due_at,
                    CustomerStep(
                        text,
                        by(step.id, step.due_at),
                        step.due_at < now_iso and step.id not in holds,
                    ),
                )
            )
    done.sort(key=lambda pair: pair[0])
    upcoming.sort(key=lambda pair: pair[0])
    active = state.status in ("open", "escalated")
    # "everything by": what is on hold waits on the customer, so it is not ours to promise
    running = sorted(due for step_id, due in upcoming_dues if step_id not in holds)
    released = state.status == "released" and not erased
    return CustomerStatus(
        locale=locale,
        place=place_name(state.site),
        status=state.status,
        opened=at(state.opened_at),
        updated=at(state.updated_at),
        done=[s for _, s in done],
        next=[s for _, s in upcoming],
        eta=at(running[-1]) if running and active else None,
        referral=(state.release or {}).get("referral") if released else None,
        waiting=(
            list(dict.fromkeys(h["reason"] for h in holds.values()))
            if active and not erased
            else []
        ),
        zone=str(now.astimezone(zone).tzname()),
        updates=[CustomerStep(w[u.kind], at(u.at)) for u in reversed(updates)],
    )
