"""Business-time arithmetic over the shipped site calendars: deadlines land in open hours,
adding business time and taking it away again returns the start, Copenhagen's clock
changes keep 8-16 on the wall clock, and Indonesian holidays close a Jakarta property."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from recovery.domain.calendar import ALWAYS_OPEN, BusinessCalendar, BusinessTime
from recovery.domain.durations import parse_due
from recovery.errors import CalendarError
from recovery.sites import Sites

SITES = Sites.from_directory(Path(__file__).resolve().parents[2] / "sites")
ESBJERG = SITES.calendar("esbjerg-complaints")  # weekdays 08-16, Danish holidays
JAKARTA = SITES.calendar("jakarta-thamrin")  # weekdays 08-17, Saturday 09-13, Indonesia
CPH = ZoneInfo("Europe/Copenhagen")
WIB = ZoneInfo("Asia/Jakarta")


def local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone).astimezone(UTC)  # type: ignore[misc]


def test_two_business_hours_from_friday_afternoon_are_monday_morning() -> None:
    opened = local(CPH, 2026, 3, 6, 15, 30)  # a Friday
    due = ESBJERG.add(opened, BusinessTime(2, "hours"))
    assert due == local(CPH, 2026, 3, 9, 9, 30)


def test_two_business_days_skip_the_weekend_and_easter() -> None:
    # Wednesday before Easter: Thursday and Friday (Maundy Thursday, Good Friday) and
    # Easter Monday are Danish public holidays.
    opened = local(CPH, 2026, 4, 1, 10, 0)
    assert ESBJERG.add(opened, BusinessTime(2, "days")) == local(CPH, 2026, 4, 8, 10, 0)


def test_business_days_opened_at_night_count_from_the_next_opening() -> None:
    opened = local(CPH, 2026, 3, 7, 20, 0)  # Saturday evening
    assert ESBJERG.add(opened, BusinessTime(1, "days")) == local(CPH, 2026, 3, 10, 8, 0)


def test_opening_hours_stay_on_the_wall_clock_across_copenhagens_clock_changes() -> None:
    # Clocks go forward on Sunday 29 March 2026: 8-16 is 07-15 UTC before, 06-14 after.
    friday = local(CPH, 2026, 3, 27, 15, 0)
    assert ESBJERG.add(friday, BusinessTime(2, "hours")) == local(CPH, 2026, 3, 30, 9, 0)
    assert ESBJERG.add(friday, BusinessTime(2, "hours")) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    # And back on Sunday 25 October 2026.
    friday = local(CPH, 2026, 10, 23, 15, 0)
    assert ESBJERG.add(friday, BusinessTime(2, "hours")) == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)


def test_an_always_open_day_is_23_hours_when_the_clocks_go_forward() -> None:
    airport = SITES.calendar("copenhagen-airport")
    sunday = local(CPH, 2026, 3, 29, 0, 0)
    monday = local(CPH, 2026, 3, 30, 0, 0)
    assert airport.business_between(sunday, monday) == timedelta(hours=23)
    assert airport.add(sunday, BusinessTime(1, "days")) == monday
    christmas = local(CPH, 2026, 12, 25, 12, 0)
    assert airport.is_open(christmas)  # open on public holidays too


def test_indonesian_holidays_close_a_jakarta_property() -> None:
    # Eid al-Fitr falls on 20-21 March 2026 in the holidays library's tables (Fri/Sat),
    # and Nyepi (Day of Silence) on Thursday 19 March.
    holidays = [d for d in (date(2026, 3, day) for day in range(16, 24)) if JAKARTA.is_holiday(d)]
    assert date(2026, 3, 19) in holidays
    assert not JAKARTA.is_working_day(date(2026, 3, 19))
    wednesday = local(WIB, 2026, 3, 18, 16, 0)
    due = JAKARTA.add(wednesday, BusinessTime(2, "hours"))
    next_open = min(d for d in (date(2026, 3, day) for day in range(19, 31)) if d not in holidays)
    assert due.astimezone(WIB).date() == next_open
    assert JAKARTA.is_open(due)
    assert JAKARTA.business_between(wednesday, due) == timedelta(hours=2)


def test_a_saturday_morning_counts_in_jakarta() -> None:
    friday = local(WIB, 2026, 7, 3, 16, 0)
    assert JAKARTA.add(friday, BusinessTime(3, "hours")) == local(WIB, 2026, 7, 4, 11, 0)


def test_the_default_calendar_is_elapsed_time() -> None:
    start = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)
    assert ALWAYS_OPEN.add(start, BusinessTime(2, "days")) == start + timedelta(hours=48)
    assert ALWAYS_OPEN.add(start, BusinessTime(4, "hours")) == start + timedelta(hours=4)
    assert SITES.calendar("no-such-site") is ALWAYS_OPEN


# ------------------------------------------------------------------ properties

CALENDARS = [ESBJERG, JAKARTA, SITES.calendar("ribe-central"), SITES.calendar("copenhagen-airport")]
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
spans = st.integers(min_value=0, max_value=400 * 3600).map(lambda s: timedelta(seconds=s))


@settings(max_examples=300, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), start=moments, span=spans)
def test_adding_business_time_then_taking_it_away_returns_the_start(
    calendar: BusinessCalendar, start: datetime, span: timedelta
) -> None:
    begin = calendar.next_open(start)  # a start in closed hours counts from the opening
    due = calendar.add_hours(start, span)
    assert calendar.business_between(start, due) == span
    if calendar.is_open(begin) and not _at_closing(calendar, begin):
        assert calendar.subtract_hours(due, span) == begin


@settings(max_examples=300, deadline=None)
@given(
    calendar=st.sampled_from(CALENDARS),
    start=moments,
    amount=st.integers(min_value=1, max_value=60),
    unit=st.sampled_from(["hours", "days"]),
)
def test_deadlines_never_land_in_closed_hours(
    calendar: BusinessCalendar, start: datetime, amount: int, unit: str
) -> None:
    due = calendar.add(start, BusinessTime(amount, "hours" if unit == "hours" else "days"))
    assert due > start
    assert calendar.is_open(due)


@settings(max_examples=200, deadline=None)
@given(start=moments, held=spans, before=spans)
def test_a_hold_moves_a_business_deadline_by_the_business_time_held(
    start: datetime, held: timedelta, before: timedelta
) -> None:
    due_at = ESBJERG.add(start, BusinessTime(16, "hours"))
    held_since = ESBJERG.add_hours(start, min(before, timedelta(hours=15)))
    resumed = held_since + held
    moved = ESBJERG.shifted_after_hold(due_at, held_since, resumed, BusinessTime(16, "hours"))
    assert ESBJERG.is_open(moved)
    assert ESBJERG.business_between(start, moved) - ESBJERG.business_between(
        held_since, resumed
    ) == timedelta(hours=16)


def _at_closing(calendar: BusinessCalendar, moment: datetime) -> bool:
    """A moment that is both a closing and not an opening (16:00 on a Friday): adding from it
    starts at the next opening, so taking the time away returns that opening's equivalent."""
    periods = calendar.intervals(calendar.local_date(moment))
    return any(moment == c for _, c in periods) and not any(moment == o for o, _ in periods)


# ------------------------------------------------------------------ the files


def test_a_business_time_deadline_parses_and_elapsed_time_is_unchanged() -> None:
    assert parse_due("4 business hours") == BusinessTime(4, "hours")
    assert parse_due("1 business day") == BusinessTime(1, "days")
    assert parse_due("4h") == timedelta(hours=4)
    for bad in ("0 business hours", "1.5 business days", "9999 business days"):
        with pytest.raises(ValueError, match="business"):
            parse_due(bad)


def test_a_bad_site_file_names_the_file_and_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "site: bad\nversion: 1\ntime_zone: Europe/Nowhere\ncountry: XX\n"
        "hours: {mon-fri: '16:00-08:00', sun-sat: '09:00-10:00'}\n"
    )
    with pytest.raises(CalendarError) as caught:
        Sites.from_directory(tmp_path)
    located = {(p.source, p.location) for p in caught.value.problems}
    assert (str(bad), "time_zone") in located
    assert (str(bad), "country") in located
    hours = tmp_path / "hours.yaml"
    bad.unlink()
    hours.write_text(
        "site: h\nversion: 1\ntime_zone: UTC\nhours: {mon-fri: '16:00-08:00', sat: [x]}\n"
    )
    with pytest.raises(CalendarError) as caught:
        Sites.from_directory(tmp_path)
    assert {p.location for p in caught.value.problems} == {"hours.mon-fri", "hours.sat"}
    assert f"{hours}: hours.mon-fri: " in str(caught.value)


def test_split_opening_hours_are_kept_in_order() -> None:
    lunch = BusinessCalendar("lunch", 1, "UTC", {0: [(time(8), time(12)), (time(13), time(17))]})
    monday = datetime(2026, 3, 9, 11, 0, tzinfo=UTC)
    assert lunch.add(monday, BusinessTime(2, "hours")) == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
