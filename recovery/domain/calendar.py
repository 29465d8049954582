"""Business time: when a site is open, and deadlines counted only in its open hours.

Pure arithmetic over a site's calendar (time zone, opening hours per weekday, public
holidays of its country from the `holidays` library, its own closed days). Deadlines are
computed here when a step opens or resumes and recorded in the event, so replay never asks
a calendar anything. Opening hours are local wall-clock times: across a daylight-saving
change a day of 8-16 is still 8-16 on the clock (and an always-open day is 23 or 25 hours).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo

import holidays as holiday_tables

ZERO = timedelta(0)
ONE_DAY = timedelta(days=1)
# A calendar open on no day at all within this span is refused rather than searched forever.
SEARCH_DAYS = 800

Interval = tuple[datetime, datetime]
"""An open period, [opens, closes) in UTC."""


@dataclass(frozen=True)
class BusinessTime:
    """A deadline counted in a site's business time: `4 business hours`, `2 business days`."""

    amount: float
    unit: Literal["hours", "days"]

    def __str__(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount:g} business {unit}"


Due = timedelta | BusinessTime
"""A step's deadline: elapsed time (a guest in the lobby) or business time."""


@lru_cache(maxsize=256)
def _country_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    table = holiday_tables.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(table.keys())


_HOLIDAY_LOCK = threading.Lock()


def public_holidays(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    """The public holidays of a country in a year (cached; the library fills lazily, so
    one thread at a time asks it)."""
    with _HOLIDAY_LOCK:
        return _country_holidays(country, subdivision, year)


class BusinessCalendar:
    """A site's open hours. `hours[weekday]` (0 = Monday) lists (opens, closes) local times;
    closes = None means midnight at the end of the day."""

    def __init__(
        self,
        site: str,
        version: int,
        zone: str,
        hours: Mapping[int, Sequence[tuple[time, time | None]]],
        country: str | None = None,
        subdivision: str | None = None,
        closed: frozenset[date] = frozenset(),
    ) -> None:
        self.site = site
        self.version = version
        self.zone_name = zone
        self.zone = ZoneInfo(zone)
        self.hours = {day: tuple(hours.get(day, ())) for day in range(7)}
        self.country = country
        self.subdivision = subdivision
        self.closed = closed
        self.always_open = (
            country is None
            and not closed
            and all(self.hours[d] == ((time(0), None),) for d in range(7))
        )
        self._days: dict[date, tuple[Interval, ...]] = {}

    @property
    def label(self) -> str:
        """Which calendar, at which version: recorded beside the deadlines it computed."""
        return f"{self.site}@v{self.version}"

    # ------------------------------------------------------------------ days

    def is_working_day(self, day: date) -> bool:
        return bool(self.intervals(day))

    def is_holiday(self, day: date) -> bool:
        if day in self.closed:
            return True
        return self.country is not None and day in public_holidays(
            self.country, self.subdivision, day.year
        )

    def intervals(self, day: date) -> tuple[Interval, ...]:
        """The open periods of a local date, in UTC (none on a holiday or closed day)."""
        found = self._days.get(day)
        if found is None:
            found = () if self.is_holiday(day) else self._open_periods(day)
            if len(self._days) > 4096:
                self._days.clear()
            self._days[day] = found
        return found

    def _open_periods(self, day: date) -> tuple[Interval, ...]:
        periods = []
        for opens, closes in self.hours[day.weekday()]:
            start = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
            end_local = (
                datetime.combine(day + ONE_DAY, time(0), tzinfo=self.zone)
                if closes is None
                else datetime.combine(day, closes, tzinfo=self.zone)
            )
            end = end_local.astimezone(UTC)
            if end > start:
                periods.append((start, end))
        return tuple(periods)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def is_open(self, moment: datetime) -> bool:
        """True within open hours, the closing moment included (a deadline may be it)."""
        return any(o <= moment <= c for o, c in self.intervals(self.local_date(moment)))

    def next_open(self, moment: datetime) -> datetime:
        """`moment` if the site is open then, else the moment it next opens."""
        return self.add_hours(moment, ZERO)

    # ------------------------------------------------------------------ arithmetic

    def add(self, start: datetime, due: Due) -> datetime:
        """The deadline `due` after `start`."""
        if isinstance(due, timedelta):
            return start + due
        if due.unit == "hours":
            return self.add_hours(start, timedelta(hours=due.amount))
        return self.add_days(start, int(due.amount))

    def add_hours(self, start: datetime, span: timedelta) -> datetime:
        """`start` plus `span` of open time (from the next opening if closed at `start`)."""
        if self.always_open:
            return start + span
        remaining = span
        day = self.local_date(start) - ONE_DAY  # a period of the day before may still run
        for _ in range(SEARCH_DAYS):
            for opens, closes in self.intervals(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += ONE_DAY
        raise ValueError(f"calendar {self.label} is not open within {SEARCH_DAYS} days")

    def subtract_hours(self, end: datetime, span: timedelta) -> datetime:
        """The latest moment `span` of open time before `end` (undoes `add_hours`)."""
        if self.always_open or span <= ZERO:
            return end - span
        remaining = span
        day = self.local_date(end) + ONE_DAY
        for _ in range(SEARCH_DAYS):
            for opens, closes in reversed(self.intervals(day)):
                if opens >= end:
                    continue
                finish = min(closes, end)
                if remaining <= finish - opens:
                    return finish - remaining
                remaining -= finish - opens
            day -= ONE_DAY
        raise ValueError(f"calendar {self.label} is not open within {SEARCH_DAYS} days")

    def business_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from `start` to `end` (zero if `end` is not after `start`)."""
        if end <= start:
            return ZERO
        if self.always_open:
            return end - start
        total = ZERO
        day = self.local_date(start) - ONE_DAY
        last = self.local_date(end) + ONE_DAY
        while day <= last:
            for opens, closes in self.intervals(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > ZERO:
                    total += overlap
            day += ONE_DAY
        return total

    def add_days(self, start: datetime, days: int) -> datetime:
        """The same local time `days` working days later (from the next opening if closed
        at `start`), kept within that day's open hours."""
        begin = self.next_open(start)
        local = begin.astimezone(self.zone)
        day = local.date()
        for _ in range(days):
            day = self.next_working_day(day)
        candidate = datetime.combine(day, local.time(), tzinfo=self.zone).astimezone(UTC)
        periods = self.intervals(day)
        for opens, closes in periods:
            if candidate < opens:
                return opens
            if candidate <= closes:
                return candidate
        return periods[-1][1]

    def next_working_day(self, day: date) -> date:
        for _ in range(SEARCH_DAYS):
            day += ONE_DAY
            if self.is_working_day(day):
                return day
        raise ValueError(f"calendar {self.label} is not open within {SEARCH_DAYS} days")

    def shifted_after_hold(
        self, due_at: datetime, held_since: datetime, now: datetime, due: Due
    ) -> datetime:
        """The deadline after a hold from `held_since` to `now`: the time left when the
        clock stopped, counted again from now (in business time for a business deadline).
        A deadline that had passed before the hold stays where it was."""
        if held_since >= due_at:
            return due_at
        if isinstance(due, timedelta):
            return now + (due_at - held_since)
        return self.add_hours(now, self.business_between(held_since, due_at))


ALWAYS_OPEN = BusinessCalendar("default", 1, "UTC", {d: ((time(0), None),) for d in range(7)})
"""The calendar of a site without one: UTC, open every hour of every day."""
