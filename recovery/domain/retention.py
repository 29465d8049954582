"""Retention of personal data: the moment before which an ended incident's personal data
is erased ('24 months' after it ended: the same day of the month, clamped to its end)."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

_UNITS = {"day": "days", "days": "days", "month": "months", "months": "months"}


def months_before(moment: datetime, months: int) -> datetime:
    """`moment` moved back by whole calendar months (31 March - 1 month: 28/29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def retention_cutoff(now: datetime, period: str) -> datetime:
    """Incidents that ended before this moment have passed `period` ('24 months',
    '3 years', '90 days'); ValueError for anything else."""
    parts = period.split()
    if len(parts) != 2 or not parts[0].isdigit():
        raise ValueError(f"{period!r} is not a retention period; write e.g. '24 months'")
    count, unit = int(parts[0]), parts[1].lower()
    if unit in ("year", "years"):
        return months_before(now, 12 * count)
    if _UNITS.get(unit) == "months":
        return months_before(now, count)
    if _UNITS.get(unit) == "days":
        return now - timedelta(days=count)
    raise ValueError(f"{period!r} is not a retention period; write e.g. '24 months'")
