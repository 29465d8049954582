"""The site file model: what a property's calendar file may say, validated with pydantic.

    site: esbjerg-complaints
    version: 1
    time_zone: Europe/Copenhagen
    country: DK                     # its public holidays, from the `holidays` library
    hours: {mon-fri: "08:00-16:00"} # local times; a day not named is closed
    closed: [2026-12-24]            # the site's own closed days

`hours: always` is open every hour of every day; public holidays still close it unless
`open_on_holidays: true`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, time
from functools import cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as holiday_tables
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from recovery.domain.calendar import BusinessCalendar
from recovery.domain.validation import format_location
from recovery.errors import CalendarError, Problem

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^\s*([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)\s*$")
_DAYS = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(?:-(mon|tue|wed|thu|fri|sat|sun))?$")

Hours = list[tuple[time, time | None]]


def parse_range(text: str) -> tuple[time, time | None]:
    """'08:00-16:00' to (08:00, 16:00); '24:00' closes at midnight (None)."""
    match = _RANGE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a range of opening hours; write e.g. '08:00-16:00'")
    opens = time(int(match[1]), int(match[2]))
    if match[3] == "24":
        if match[4] != "00":
            raise ValueError(f"{text!r}: a day ends at 24:00")
        return opens, None
    closes = time(int(match[3]), int(match[4]))
    if closes <= opens:
        raise ValueError(f"{text!r} closes before it opens")
    return opens, closes


def parse_days(key: str) -> list[int]:
    """'mon', 'mon-fri' or 'sat-sun' to weekday numbers (0 = Monday)."""
    match = _DAYS.match(key.strip().lower())
    if not match:
        raise ValueError(f"{key!r} is not a weekday or range of weekdays (mon, mon-fri, ...)")
    first = WEEKDAYS.index(match[1])
    last = WEEKDAYS.index(match[2]) if match[2] else first
    if last < first:
        raise ValueError(f"{key!r} runs backwards; write e.g. mon-fri")
    return list(range(first, last + 1))


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


class SiteFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=200)
    version: int = Field(ge=1, le=1_000_000)
    title: str | None = Field(default=None, max_length=200)
    time_zone: str = Field(max_length=64, description="an IANA zone, e.g. Europe/Copenhagen")
    country: str | None = Field(
        default=None, description="ISO 3166 code whose public holidays close the site"
    )
    subdivision: str | None = Field(default=None, max_length=16)
    open_on_holidays: bool = Field(
        default=False, description="public holidays do not close it (an airport desk)"
    )
    hours: Mapping[str, str | list[str]] | str = Field(
        description="opening hours by weekday ('mon-fri': '08:00-16:00'), or 'always'"
    )
    closed: list[date] = Field(default_factory=list, max_length=1000)

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value not in _zones() and value != "UTC":
            raise ValueError(f"{value!r} is not a known time zone (e.g. Europe/Copenhagen)")
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone") from None
        return value

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is not None and value not in holiday_tables.list_supported_countries():
            raise ValueError(f"{value!r} is not a country the holidays library knows (e.g. DK)")
        return value


def _hours(hours: Mapping[str, str | list[str]] | str) -> tuple[dict[int, Hours], list[Problem]]:
    """Hours by weekday, and the problems found (location relative to `hours`)."""
    week: dict[int, Hours] = {}
    problems: list[Problem] = []
    if isinstance(hours, str):
        if hours.strip() != "always":
            problems.append(Problem("", "hours", "write 'always' or hours by weekday"))
        return {d: [(time(0), None)] for d in range(7)}, problems
    for key, value in hours.items():
        ranges = [value] if isinstance(value, str) else value
        try:
            days = parse_days(key)
            periods = sorted(parse_range(r) for r in ranges if r.strip().lower() != "closed")
        except ValueError as exc:
            problems.append(Problem("", f"hours.{key}", str(exc)))
            continue
        for earlier, later in pairwise(periods):
            if earlier[1] is None or later[0] < earlier[1]:
                problems.append(Problem("", f"hours.{key}", "opening hours overlap"))
        for day in days:
            if day in week:
                problems.append(Problem("", f"hours.{key}", f"{WEEKDAYS[day]} is given twice"))
            week[day] = periods
    if not problems and not any(week.values()):
        problems.append(Problem("", "hours", "the site must be open on some day"))
    return week, problems


def validate_site(data: Any, source: str) -> BusinessCalendar:
    """One site file's data as its calendar; `CalendarError` lists every problem found."""
    if not isinstance(data, Mapping):
        raise CalendarError([Problem(source, "", "a site file must be a mapping of fields")])
    try:
        model = SiteFile.model_validate(data)
    except ValidationError as exc:
        raise CalendarError(
            [Problem(source, format_location(e["loc"]), e["msg"]) for e in exc.errors()]
        ) from None
    week, problems = _hours(model.hours)
    if problems:
        raise CalendarError([Problem(source, p.location, p.message) for p in problems])
    return BusinessCalendar(
        model.site,
        model.version,
        model.time_zone,
        week,
        None if model.open_on_holidays else model.country,
        model.subdivision,
        frozenset(model.closed),
    )
