"""Personal data on memory, SQLite and PostgreSQL: a customer erased on request leaves no
personal value anywhere in the database (tables, and on SQLite the file's raw bytes), every
chain still verifies and replays (redacted), the erasure is recorded (who, when, why), a
tampered erased incident is still found, and another customer's export is untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.domain.commands import Actor
from recovery.domain.personal import REDACTED
from recovery.errors import CustomerNotFoundError, NotAllowedNowError, PermissionDeniedError
from recovery.letters.staff_words import staff_say
from recovery.service import worker
from recovery.service.notifications import Notifier
from recovery.storage.tables import metadata
from tests.conftest import AUDITOR, FRONT_DESK, MANAGER, Clock
from tests.contract.support import execute_sql
from tests.contract.test_notifications import add_users

ADMIN = Actor(id="root", role="admin")
NAME = "Karoline Vestergaard"
EMAIL = "karoline.v@example.dk"
PHRASE = "allergic to shellfish since 2019"
KEY = "LOY-7731"
REASON = "the guest asked to be forgotten (GDPR art. 17)"
SECRETS = (NAME, EMAIL, PHRASE, "Vestergaard", "karoline.v")


def open_for(rec: Recovery, name: str, contact: str, key: str, note: str) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site="ribe-central",
        customer=CustomerProfile(name=name, contact=contact, key=key, language="da"),
        summary=f"walked on arrival; {note}",
        customer_summary="Your room was given away",
        external_ref=f"BK-{key}",
    )
    return rec.open(command, actor=FRONT_DESK, channel="desk").id


def three_incidents(rec: Recovery, clock: Clock) -> list[str]:
    incidents = []
    for _ in range(3):
        incident = open_for(rec, NAME, EMAIL, KEY, PHRASE)
        rec.add_note(incident, f"guest says she is {PHRASE}", actor=FRONT_DESK)
        rec.record_contact(incident, "phone", "inbound", f"{NAME} called", actor=FRONT_DESK)
        rec.hand_off(incident, "bo", f"call {NAME} on {EMAIL}", actor=FRONT_DESK)
        clock.advance(hours=1)
        incidents.append(incident)
    first = incidents[0]
    for step, evidence in (
        ("apologise", {"apology_by": "Ana"}),
        ("rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 0.4}),
        ("pay_room", {"amount": 185}),
    ):
        rec.complete_step(first, step, evidence, actor=FRONT_DESK)
    rec.draft_letter(first, "written_apology", note=f"Dear {NAME}, so sorry.", actor=MANAGER)
    rec.request_letter(first, "written_apology", actor=MANAGER)
    rec.storage.links.add("ab" * 32, first, "ana", clock())
    return incidents


def everything_stored(rec: Recovery, incidents: list[str]) -> str:
    """Every value the engine gives back about these incidents, as one text."""
    parts: list[Any] = []
    for incident in incidents:
        parts.append(rec.get(incident).state.to_dict())
        parts.append([e.data for e in rec.timeline(incident)])
        parts.append(rec.outbox(incident))
        parts.append(
            [letter.to_dict(content=True) for letter in rec.storage.letters.list(incident)]
        )
        parts.append(len(rec.storage.links.list_links(incident)))
    return orjson.dumps(parts, default=str).decode()


def settled(exported: dict[str, Any]) -> str:
    """An export without what only the passing of time changes (when it was made, which
    of the customer's next steps are late now)."""
    text = orjson.dumps({**exported, "exported_at": ""}).decode()
    for incident in exported["incidents"]:
        for step in incident["customer_timeline"]["next"]:
            text = text.replace(orjson.dumps(step).decode(), orjson.dumps(step["text"]).decode())
    return text


def every_table(rec: Recovery) -> str:
    """Every row of every table, as text (what SQL can read of the database)."""
    out = []
    with rec.storage.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(text(f"SELECT * FROM {table.name}")):
                out.append(" ".join(str(value) for value in row))
    return "\n".join(out)


def test_erasing_a_customer_leaves_no_personal_value_and_every_chain_verifies(
    rec: Recovery, clock: Clock, backend: str
) -> None:
    incidents = three_incidents(rec, clock)
    other = open_for(rec, "Jonas Berg", "jonas@example.com", "LOY-1", "wants a quiet room")
    rec.add_note(other, "prefers the ground floor", actor=FRONT_DESK)
    other_before = rec.export_customer("LOY-1", actor=ADMIN)
    before = everything_stored(rec, incidents)
    assert NAME in before and PHRASE in before and EMAIL in before

    clock.advance(days=2)
    done = rec.erase_customer(KEY, actor=ADMIN, reason=REASON)

    assert sorted(done.erased) == sorted(incidents) and done.already == []
    after = everything_stored(rec, incidents)
    for secret in SECRETS:
        assert secret.lower() not in after.lower(), secret
    if backend != "memory":
        tables = every_table(rec).lower()
        for secret in SECRETS:
            assert secret.lower() not in tables, secret
    # the erasure is recorded: who, when and why, never what
    for incident in incidents:
        erased = rec.timeline(incident)[-1]
        assert (erased.type, erased.actor, erased.actor_role) == ("erased", "root", "admin")
        assert erased.data == {"reason": REASON}
        state = rec.get(incident).state
        assert state.erased_at == erased.recorded_at and state.customer == {}
        assert rec.replay(incident) == state, "replay rebuilds it, redacted"
        assert rec.verify(incident).erased_at == erased.recorded_at
    first = rec.timeline(incidents[0])
    assert first[1].data["text"] == REDACTED, "a note reads as redacted"
    assert first[4].data["evidence"] == {"apology_by": REDACTED}, "its texts redacted"
    paid = rec.get(incidents[0]).state.steps["pay_room"]
    assert (paid.status, paid.evidence["amount"]) == ("done", 185), "amounts stay"
    assert rec.storage.links.list_links(incidents[0]) == []
    [letter] = rec.storage.letters.list(incidents[0])
    assert (letter.recipient, letter.body_text) == (REDACTED, REDACTED)
    results = rec.verify_all()
    assert all(r.ok for r in results)
    assert {r.incident_id for r in results if r.erased_at} == set(incidents)
    # another customer: untouched
    other_after = rec.export_customer("LOY-1", actor=ADMIN)
    assert settled(other_after) == settled(other_before)
    assert rec.verify(other).ok and rec.verify(other).erased_at is None
    # the customer is gone by key; erasing again finds nothing
    with pytest.raises(CustomerNotFoundError):
        rec.erase_customer(KEY, actor=ADMIN, reason=REASON)
    assert rec.erase_incident(incidents[0], actor=ADMIN, reason=REASON) is False


def test_an_erased_incident_takes_no_more_actions(rec: Recovery, clock: Clock) -> None:
    [incident, *_] = three_incidents(rec, clock)
    rec.erase_incident(incident, actor=ADMIN, reason=REASON)
    with pytest.raises(NotAllowedNowError, match="erased"):
        rec.add_note(incident, f"{NAME} called again", actor=FRONT_DESK)
    assert rec.verify(incident).ok


def test_only_an_admin_erases_or_exports(rec: Recovery, clock: Clock) -> None:
    open_for(rec, NAME, EMAIL, KEY, PHRASE)
    for actor in (FRONT_DESK, MANAGER, AUDITOR):
        with pytest.raises(PermissionDeniedError):
            rec.erase_customer(KEY, actor=actor, reason=REASON)
        with pytest.raises(PermissionDeniedError):
            rec.export_customer(KEY, actor=actor)
    with pytest.raises(CustomerNotFoundError, match="LOY-none"):
        rec.export_customer("LOY-none", actor=ADMIN)


def test_the_export_holds_everything_about_the_customer(rec: Recovery, clock: Clock) -> None:
    incidents = three_incidents(rec, clock)
    exported = rec.export_customer(KEY, actor=ADMIN)
    assert exported["customer_key"] == KEY
    assert sorted(i["incident_id"] for i in exported["incidents"]) == sorted(incidents)
    by_id = {i["incident_id"]: i for i in exported["incidents"]}
    first = by_id[incidents[0]]
    assert first["customer"]["name"] == NAME and first["language"] == "da"
    texts = orjson.dumps(first["timeline"]).decode()
    assert PHRASE in texts and EMAIL in texts
    [letter] = first["letters"]
    assert letter["locale"] == "da" and NAME in letter["body_text"]
    assert len(first["status_links"]) == 1
    orjson.dumps(exported)  # machine-readable as it is


@pytest.mark.sql
def test_a_one_byte_tamper_of_an_erased_incident_is_found_and_located(
    rec: Recovery, clock: Clock
) -> None:
    [incident, *_] = three_incidents(rec, clock)
    rec.erase_incident(incident, actor=ADMIN, reason=REASON)
    changed = execute_sql(
        rec,
        "UPDATE events SET data = replace(data, '[redacted]', '[redacteD]') "
        "WHERE incident_id = :id AND seq = 2",
        id=incident,
    )
    assert changed == 1
    result = rec.verify(incident)
    assert not result.ok and result.broken_seq == 2
    assert result.problem is not None and "hash" in result.problem


def test_the_sqlite_file_holds_no_byte_of_an_erased_customer(
    rec: Recovery, clock: Clock, backend: str
) -> None:
    if backend != "sqlite":
        pytest.skip("the raw file of the embedded database")
    incidents = three_incidents(rec, clock)
    path = rec.storage.file_path()
    assert path is not None

    def raw() -> bytes:
        files = [Path(f"{path}{suffix}") for suffix in ("", "-wal")]
        return b"".join(f.read_bytes() for f in files if f.exists()).lower()

    assert NAME.lower().encode() in raw() and PHRASE.encode() in raw()  # before: there
    rec.erase_customer(KEY, actor=ADMIN, reason=REASON)
    assert all(r.ok for r in rec.verify_all())
    for secret in SECRETS:
        assert secret.lower().encode() not in raw(), secret
    assert incidents[0].encode() in raw()  # the incident is still there


def test_the_worker_erases_what_passed_its_retention_exactly_once(
    rec: Recovery, clock: Clock
) -> None:
    ended = open_for(rec, NAME, EMAIL, KEY, PHRASE)
    rec.release(ended, "fully booked", "Hotel Dagmar", actor=MANAGER)
    still_open = open_for(rec, NAME, EMAIL, KEY, PHRASE)
    clock.advance(days=700)
    assert worker.run(rec, [], once=True, retention="24 months").erased == 0, "not yet"
    clock.advance(days=40)

    first = worker.run(rec, [], once=True, retention="24 months")
    second = worker.run(rec, [], once=True, retention="24 months")

    assert (first.erased, second.erased) == (1, 0)
    erased = rec.timeline(ended)[-1]
    assert (erased.type, erased.actor, erased.data) == (
        "erased",
        "retention-worker",
        {"reason": "retention period ended"},
    )
    assert rec.get(still_open).state.erased_at is None, "the open incident keeps its data"
    assert rec.get(still_open).state.customer["name"] == NAME
    assert all(r.ok for r in rec.verify_all())
    assert worker.run(rec, [], once=True).erased == 0, "erased once: never again"


def test_a_playbook_says_how_long_personal_data_is_kept() -> None:
    from datetime import UTC, datetime

    from recovery.domain.retention import retention_cutoff

    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    assert retention_cutoff(now, "1 month") == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert retention_cutoff(now, "2 years") == datetime(2024, 3, 31, 12, tzinfo=UTC)
    assert retention_cutoff(now, "90 days") == datetime(2025, 12, 31, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="retention period"):
        retention_cutoff(now, "soon")


def vacuums(rec: Recovery) -> dict[str, int]:
    """How many times each table of this schema was vacuumed (by hand, not autovacuum)."""
    with rec.storage.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, vacuum_count FROM pg_stat_user_tables "
                "WHERE schemaname = current_schema()"
            )
        )
        return {name: int(count) for name, count in rows}


def test_postgresql_vacuums_the_tables_an_erasure_rewrote(
    rec: Recovery, clock: Clock, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("PostgreSQL's dead row versions")
    three_incidents(rec, clock)
    before = vacuums(rec)
    rec.erase_customer(KEY, actor=ADMIN, reason=REASON)
    after = vacuums(rec)
    for table in ("incidents", "search_terms", "letters", "outbox", "status_links"):
        assert after[table] == before.get(table, 0) + 1, table
    assert after["events"] == before.get("events", 0), "the events are never rewritten"
    # no live row holds the customer (what VACUUM can promise is told in the README)
    tables = every_table(rec).lower()
    for secret in SECRETS:
        assert secret.lower() not in tables, secret


def test_what_staff_were_told_about_an_erased_customer_is_gone_in_every_language(
    rec: Recovery, clock: Clock, backend: str
) -> None:
    """A notice names the customer in its English `message` and in its words kept for the
    reader's language (`message_words`): erasure scrubs both, the notice itself (who was
    told what kind of thing, when) stays."""
    add_users(rec, clock)
    incident = open_for(rec, NAME, EMAIL, KEY, PHRASE)
    rec.hand_off(incident, "mads", "please call her back", actor=FRONT_DESK)
    rec.act_on_step(incident, "pay_room", "request_approval", actor=FRONT_DESK, amount=450)
    Notifier(rec).tell(incident)

    def notices() -> list[Any]:
        return [n for who in ("mads", "mia") for n in rec.storage.notifications.list(who)]

    before = notices()
    assert {n.kind for n in before} == {"handed_to_you", "approval_requested"}
    assert all(NAME in str(n.message) for n in before)
    assert all(NAME in staff_say("da", n.message) for n in before)
    asked = next(n for n in before if n.kind == "approval_requested")
    assert "Insistér på at betale for erstatningsværelset" in staff_say("da", asked.message)
    if backend != "memory":
        assert NAME in every_table(rec)

    rec.erase_customer(KEY, actor=ADMIN, reason=REASON)

    after = notices()
    assert [(n.id, n.kind, n.recipient) for n in after] == [
        (n.id, n.kind, n.recipient) for n in before
    ]
    for notice in after:
        for language in ("en", "da", "id"):
            shown = staff_say(language, notice.message).lower()
            assert not any(secret.lower() in shown for secret in SECRETS), (language, shown)
        assert str(notice.message) == REDACTED
    if backend != "memory":
        tables = every_table(rec).lower()
        for secret in SECRETS:
            assert secret.lower() not in tables, secret
        with rec.storage.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT message_words FROM notifications WHERE incident_id = :i"),
                {"i": incident},
            ).all()
        assert len(rows) == 2 and all(words is None for (words,) in rows)
