"""The one converter between the ISO text form of a moment (`domain.state.iso`) and the
value a timestamp column takes or gives back, on either database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from recovery.domain.state import iso, parse_iso


def from_column(value: datetime | str | None) -> str | None:
    """A timestamp column read through SQLAlchemy or a driver, back to the ISO text form."""
    if value is None:
        return None
    if isinstance(value, str):
        return iso(datetime.fromisoformat(value))
    return iso(value if value.tzinfo else value.replace(tzinfo=UTC))


def utc(moment: datetime) -> datetime:
    """An aware UTC datetime: SQLite's DateTime stores the wall time and drops the zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def aware(value: datetime | None) -> datetime | None:
    """`utc`, passing None through (a nullable column)."""
    return None if value is None else utc(value)


def to_column(text: str | None, *, postgres: bool) -> Any:
    """An ISO moment as a driver-level column value: an aware datetime for psycopg,
    SQLAlchemy's text form for SQLite (so Core reads of the same column parse it)."""
    if text is None:
        return None
    if postgres:
        return parse_iso(text)
    return f"{text[:10]} {text[11:26]}"
