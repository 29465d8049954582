"""Cue rules: which of a playbook's rules the customer's cues, tenure, order value and
segment fire, and what they add (a tier, steps, people to notify).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from recovery.domain.commands import CustomerProfile, OpenIncident
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.customers import CustomerHistory
from recovery.domain.effects import Effect, Notice
from recovery.domain.playbook import CueCondition, CueRule, StepDef
from recovery.domain.state import iso


def tenure_years(customer: CustomerProfile, now: datetime) -> float | None:
    """Whole calendar years since joining plus the year's fraction, so that a cue rule
    'at least 5 years' fires on the fifth anniversary and never before it."""
    since = customer.member_since
    if since is None:
        return None
    today = now.date()
    years = today.year - since.year - ((today.month, today.day) < (since.month, since.day))
    if years < 0:
        return 0.0
    start, end = _anniversary(since, years), _anniversary(since, years + 1)
    return min(round(years + (today - start).days / (end - start).days, 2), years + 0.99)


def _anniversary(since: date, years: int) -> date:
    try:
        return since.replace(year=since.year + years)
    except ValueError:  # 29 February in a year without one
        return date(since.year + years, 3, 1)


def fired_rules(
    rules: list[CueRule],
    already: set[str],
    cues: list[str],
    tenure: float | None,
    order_value: float | None,
    segment: str | None,
    history: CustomerHistory | None = None,
    now: datetime | None = None,
) -> list[CueRule]:
    """The rules that fire. The repeat-contact conditions need the customer's `history`
    (given only at open) and `now`; without them those rules do not fire."""
    fired = []
    for rule in rules:
        if rule.id in already:
            continue
        when = rule.when
        if when.tenure_years_at_least is not None and (
            tenure is None or tenure < when.tenure_years_at_least
        ):
            continue
        if when.cues_any is not None and not set(when.cues_any) & set(cues):
            continue
        if when.order_value_at_least is not None and (
            order_value is None or order_value < when.order_value_at_least
        ):
            continue
        if when.segment_in is not None and segment not in when.segment_in:
            continue
        if not _history_holds(when, history, now):
            continue
        fired.append(rule)
    return fired


def tier_steps(compiled: CompiledPlaybook, fired: list[CueRule]) -> list[StepDef]:
    ids = dict.fromkeys(step_id for rule in fired for step_id in rule.add_steps)
    return [compiled.steps[step_id] for step_id in ids]


def notify_effects(fired: list[CueRule]) -> list[Effect]:
    return [Notice("notify", role, f"cue:{rule.id}") for rule in fired for role in rule.notify]


def _history_holds(
    when: CueCondition, history: CustomerHistory | None, now: datetime | None
) -> bool:
    checks = (
        (when.repeat_within_days, "opened", 1),
        (when.compensated_within_months, "compensated", 30),
    )
    for limit, facts, days in checks:
        if limit is None:
            continue
        if history is None or now is None:
            return False
        since = iso(now - timedelta(days=limit * days))
        if not any(moment >= since for moment in getattr(history, facts)):
            return False
    return True


def rules_at_open(
    rules: list[CueRule], command: OpenIncident, now: datetime, history: CustomerHistory | None
) -> tuple[list[CueRule], float | None]:
    """The rules that fire when the incident opens, and the customer's tenure: the
    customer's earlier incidents (`history`) count only here."""
    customer = command.customer
    tenure = tenure_years(customer, now)
    fired = fired_rules(
        rules, set(), command.cues, tenure, customer.order_value, customer.segment, history, now
    )
    return fired, tenure
