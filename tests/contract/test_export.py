"""Exports for auditors' own tools: JSONL and CSV, one line per event with the incident's
fields and the hashes, filtered by property, playbook and period, streamed in bounded
memory, on SQLite and PostgreSQL. Every exported line verifies on its own."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from recovery import Recovery
from recovery.audit import FIELDS, ExportFilter, export_events
from recovery.domain.chain import GENESIS, event_hash
from recovery.domain.personal import reveal
from tests.conftest import FRONT_DESK, Clock
from tests.contract.support import execute_sql
from tests.contract.test_checkpoints import record_history

START = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)


def export(rec: Recovery, fmt: str = "jsonl", **where: Any) -> bytes:
    out = io.BytesIO()
    rec.export_events(out, fmt, ExportFilter(**where))  # type: ignore[arg-type]
    return out.getvalue()


def jsonl(rec: Recovery, **where: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in export(rec, "jsonl", **where).splitlines()]


def line_hash(row: dict[str, Any]) -> str:
    return event_hash(
        row["prev_hash"],
        row["incident_id"],
        int(row["seq"]),
        row["type"],
        int(row["schema_version"]),
        row["playbook_id"],
        int(row["playbook_version"]),
        row["actor"],
        row["actor_role"],
        row["channel"],
        row["recorded_at"],
        row["data"].encode(),
    )


@pytest.fixture
def two_sites(rec: Recovery, clock: Clock) -> dict[str, str]:
    """An incident at ribe (opened at 14:00, events until 15:00) and one at odense (opened
    a day later)."""
    ribe = record_history(rec, clock)
    clock.now = START + timedelta(days=1)
    odense = record_history(rec, clock, site="odense")
    return {"ribe": ribe, "odense": odense}


@pytest.mark.sql
def test_jsonl_has_every_event_with_incident_fields_and_hashes(
    rec: Recovery, two_sites: dict[str, str]
) -> None:
    rows = jsonl(rec)

    assert [(r["incident_id"], r["seq"]) for r in rows] == sorted(
        (incident, seq) for incident in two_sites.values() for seq in range(1, 8)
    )
    for row in rows:
        assert list(row) == list(FIELDS)
        event = rec.timeline(row["incident_id"])[row["seq"] - 1]
        assert {k: row[k] for k in ("type", "actor", "recorded_at", "hash", "prev_hash")} == {
            "type": event.type,
            "actor": event.actor,
            "recorded_at": event.recorded_at,
            "hash": event.hash,
            "prev_hash": event.prev_hash,
        }
        # as stored: the personal values sealed, opening with the incident's key
        stored = orjson.loads(row["data"])
        key = rec.log.personal_key(row["incident_id"])
        assert reveal(stored, key, row["incident_id"], row["seq"]) == event.data
        site = "ribe" if row["incident_id"] == two_sites["ribe"] else "odense"
        assert (row["site"], row["incident_type"], row["incident_status"]) == (
            site,
            "hotel.walked_guest",
            "open",
        )


@pytest.mark.sql
def test_every_exported_line_verifies_and_links_to_the_one_before(
    rec: Recovery, two_sites: dict[str, str]
) -> None:
    previous: dict[str, str] = {}
    for row in jsonl(rec):
        assert line_hash(row) == row["hash"]
        assert row["prev_hash"] == previous.get(row["incident_id"], GENESIS)
        previous[row["incident_id"]] = row["hash"]


@pytest.mark.sql
def test_csv_holds_the_same_rows_as_jsonl(rec: Recovery, two_sites: dict[str, str]) -> None:
    table = list(csv.reader(io.StringIO(export(rec, "csv").decode())))

    assert table[0] == list(FIELDS)
    assert table[1:] == [[str(v) for v in row.values()] for row in jsonl(rec)]
    assert all(line_hash(dict(zip(FIELDS, row, strict=True))) == row[14] for row in table[1:])


@pytest.mark.sql
def test_filters_by_site_playbook_and_period(
    rec: Recovery, clock: Clock, two_sites: dict[str, str]
) -> None:
    ribe, odense = two_sites["ribe"], two_sites["odense"]
    first_half = (START + timedelta(minutes=30)).isoformat()

    def keys(**where: Any) -> list[tuple[str, int]]:
        return [(r["incident_id"], r["seq"]) for r in jsonl(rec, **where)]

    assert keys(site="odense") == [(odense, seq) for seq in range(1, 8)]
    assert keys(site="nowhere") == []
    assert keys(playbook="hotel-walked-guest") == keys()
    assert keys(playbook="complaint-written-answer") == []
    assert keys(until=START + timedelta(minutes=30)) == [(ribe, 1), (ribe, 2), (ribe, 3)]
    assert keys(since=START + timedelta(minutes=30), until=START + timedelta(minutes=50)) == [
        (ribe, 4),
        (ribe, 5),
    ]
    assert keys(since=START + timedelta(days=1, minutes=60)) == [(odense, 7)]
    # an aware time in another zone means the same moment
    cet = datetime.fromisoformat(first_half).astimezone(timezone(timedelta(hours=2)))
    assert keys(until=cet) == [(ribe, 1), (ribe, 2), (ribe, 3)]
    assert keys(site="ribe", since=START + timedelta(hours=5)) == []


@pytest.mark.sql
def test_a_period_slice_still_verifies_line_by_line(
    rec: Recovery, two_sites: dict[str, str]
) -> None:
    rows = jsonl(rec, since=START + timedelta(minutes=25), until=START + timedelta(minutes=55))

    assert [r["seq"] for r in rows] == [4, 5, 6]
    assert all(line_hash(r) == r["hash"] for r in rows)
    assert rows[0]["prev_hash"] == rec.timeline(two_sites["ribe"])[2].hash


@pytest.mark.sql
def test_an_edited_event_is_exported_as_stored_and_no_longer_verifies(
    rec: Recovery, two_sites: dict[str, str]
) -> None:
    execute_sql(
        rec,
        "UPDATE events SET data = replace(data, '[redacted]', '[REDACTED]') "
        "WHERE incident_id = :id AND seq = 2",
        id=two_sites["ribe"],
    )
    broken = [(r["incident_id"], r["seq"]) for r in jsonl(rec) if line_hash(r) != r["hash"]]
    assert broken == [(two_sites["ribe"], 2)]


def test_the_export_streams_in_bounded_memory(rec: Recovery, clock: Clock) -> None:
    """The export's peak memory does not grow with the number of events exported."""
    incident = record_history(rec, clock)

    def add_notes(count: int) -> None:
        for n in range(count):
            rec.add_note(incident, f"note {n}: " + "x" * 300, actor=FRONT_DESK)

    def peak_of_export() -> tuple[int, _CountingSink]:
        export_events(rec.storage.audit, _CountingSink(), "jsonl", batch=50)  # type: ignore[arg-type]
        sink = _CountingSink()
        tracemalloc.start()
        try:
            export_events(rec.storage.audit, sink, "jsonl", batch=50)  # type: ignore[arg-type]
            return tracemalloc.get_traced_memory()[1], sink
        finally:
            tracemalloc.stop()

    add_notes(300)
    small_peak, small = peak_of_export()
    add_notes(900)
    large_peak, large = peak_of_export()

    assert (small.lines, large.lines) == (307, 1207)
    assert large.size > 3 * small.size
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)


class _CountingSink:
    def __init__(self) -> None:
        self.lines = self.size = 0

    def write(self, data: bytes) -> int:
        self.lines += data.count(b"\n")
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass
