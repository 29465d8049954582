"""Durations in playbooks: elapsed ('30m', '4h', '2d') or business time ('4 business
hours', '2 business days', counted in the site's calendar), bounded where they are read.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    PlainSerializer,
    ValidationInfo,
    WithJsonSchema,
)

from recovery.domain.calendar import BusinessTime

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Deadlines: more than nothing, at most a year (and a leap day); a voucher's validity at
# most ten years. Past PARSEABLE a duration is nonsense (and timedelta would overflow).
MAX_DURATION = timedelta(days=366)
MAX_VALIDITY = timedelta(days=3653)
PARSEABLE = timedelta(days=36525)


def parse_duration(value: Any) -> timedelta:
    """'90s', '30m', '4h', '2d', '1w' (or a number of seconds) to a timedelta."""
    if isinstance(value, timedelta):
        return _bounded(value.total_seconds(), value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _bounded(value, value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return _bounded(float(match[1]) * _UNIT_SECONDS[match[2]], value)
    raise ValueError(f"{value!r} is not a duration; write e.g. '30m', '4h', '2d' or '1w'")


_BUSINESS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*business\s+(hour|day)s?\s*$", re.IGNORECASE)
MAX_BUSINESS = {"hours": 2000.0, "days": 250.0}


def parse_due(value: Any) -> timedelta | BusinessTime:
    """A step's deadline: '4 business hours', '2 business days' (counted in the site's
    open hours, `domain/calendar.py`), else elapsed time as `parse_duration` reads it."""
    if isinstance(value, BusinessTime):
        return value
    if isinstance(value, str):
        match = _BUSINESS.match(value)
        if match:
            amount, unit = float(match[1]), f"{match[2].lower()}s"
            if not 0 < amount <= MAX_BUSINESS[unit]:
                raise ValueError(
                    f"{value!r}: business {unit} must be more than 0 and at most "
                    f"{MAX_BUSINESS[unit]:g}"
                )
            if unit == "days" and not amount.is_integer():
                raise ValueError(f"{value!r}: count business days whole, or use business hours")
            return BusinessTime(amount, "hours" if unit == "hours" else "days")
    return parse_duration(value)


def format_due(value: timedelta | BusinessTime) -> str:
    return str(value) if isinstance(value, BusinessTime) else format_duration(value)


def _bounded(seconds: float, value: Any) -> timedelta:
    """A duration of `seconds` if at least 0 and at most `PARSEABLE` (checked before
    timedelta is built: `99999999999999w` would overflow it)."""
    if not 0 <= seconds <= PARSEABLE.total_seconds():  # also NaN
        raise ValueError(f"{value!r} is out of range: a duration is at most 100 years")
    return timedelta(seconds=seconds)


def _within(most: timedelta) -> Any:
    """A duration field's rule: more than 0, at most `most`. Definitions stored by earlier
    releases (validated with context `stored`) replay with what they said."""

    def check(value: Any, info: ValidationInfo) -> Any:
        # business time is bounded where it is read (`parse_due`)
        stored = bool(info.context and info.context.get("stored"))
        if isinstance(value, timedelta) and not stored and not timedelta(0) < value <= most:
            raise ValueError(
                f"{format_duration(value)!r} is out of range: more than 0 and at most "
                f"{most.days} days"
            )
        return value

    return AfterValidator(check)


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]
StepDue = Annotated[
    timedelta | BusinessTime,
    BeforeValidator(parse_due),
    _within(MAX_DURATION),
    PlainSerializer(format_due, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["4h", "4 business hours", "2 business days"]}),
]
Validity = Annotated[Duration, _within(MAX_VALIDITY)]
