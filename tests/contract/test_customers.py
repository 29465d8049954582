"""A customer across incidents, on memory, SQLite and PostgreSQL: incidents of one customer
share one history (by the back office's key, or by the contact when there is none), a
repeat within N days or compensation given in the last N months raises the tier at open,
and the history is scoped to the caller's properties."""

from __future__ import annotations

from typing import Any

from alembic import command
from sqlalchemy import text

from recovery import CustomerProfile, OpenIncident, Outcome, Recovery
from recovery.bootstrap import over_engine
from recovery.storage.database import alembic_config, create_db_engine, upgrade
from tests.conftest import FRONT_DESK, Clock
from tests.contract.support import open_hotel


def complaint(rec: Recovery, site: str = "ribe", **customer: Any) -> Outcome:
    command = OpenIncident(
        incident_type="energy.complaint",
        site=site,
        customer=CustomerProfile(name="Jonas Berg", **customer),
        summary="bill doubled in March",
    )
    return rec.open(command, actor=FRONT_DESK, channel="phone")


def telecom(rec: Recovery, **customer: Any) -> Outcome:
    command = OpenIncident(
        incident_type="telecom.billing_error",
        site="ribe",
        customer=CustomerProfile(name="Jonas Berg", **customer),
    )
    return rec.open(command, actor=FRONT_DESK)


def test_two_incidents_of_one_customer_share_a_history(rec: Recovery, clock: Clock) -> None:
    first = open_hotel(rec, key="LOY-1001", contact="mette@example.com").id
    rec.complete_step(first, "pay_room", {"amount": 180}, actor=FRONT_DESK)
    rec.record_push(first, "a taxi to the other hotel", actor=FRONT_DESK)
    clock.advance(days=1)
    second = open_hotel(rec, key="LOY-1001", contact="another@example.com").id
    open_hotel(rec, key="LOY-2002", contact="mette@example.com")  # another customer

    seen = rec.customer("LOY-1001")
    assert [line.incident_id for line in seen.incidents] == [second, first], "newest first"
    assert seen.compensation_total == {"EUR": 180.0}
    assert [(c.incident_id, c.step) for c in seen.compensation] == [(first, "pay_room")]
    assert seen.pushes == 1
    assert {e.incident_id for e in seen.timeline} == {first, second}
    assert seen.timeline[0].at >= seen.timeline[-1].at, "one timeline, newest first"
    assert {p.incident_id for p in seen.open_promises} == {first, second}
    assert all(p.step != "pay_room" for p in seen.open_promises if p.incident_id == first)

    on_second_page = rec.customer("LOY-1001", exclude=second)
    assert [line.incident_id for line in on_second_page.incidents] == [first]
    assert on_second_page.incidents[0].next_promise is not None
    assert rec.customer("LOY-3003").incidents == []


def test_without_a_key_the_contact_links_incidents(rec: Recovery) -> None:
    first = open_hotel(rec, contact="Mette@Example.com").id
    second = open_hotel(rec, contact=" mette@example.com ").id
    assert {line.incident_id for line in rec.customer("mette@example.com").incidents} == {
        first,
        second,
    }


def test_the_history_is_scoped_to_the_callers_properties(rec: Recovery) -> None:
    here = complaint(rec, "ribe", key="ACC-77").id
    elsewhere = complaint(rec, "vejle", key="ACC-77").id
    assert [line.incident_id for line in rec.customer("ACC-77", sites=["ribe"]).incidents] == [here]
    every = {line.incident_id for line in rec.customer("ACC-77").incidents}
    assert every == {here, elsewhere}


def test_a_repeat_within_n_days_raises_the_tier(rec: Recovery, clock: Clock) -> None:
    first = complaint(rec, key="ACC-1")
    assert first.incident.state.tier == 1
    clock.advance(days=3)
    again = complaint(rec, key="ACC-1")
    state = again.incident.state
    assert state.tier == 2
    assert "complained_again" in state.cue_rules_fired
    assert "manager_review" in state.steps
    assert {m["kind"] for m in rec.outbox(again.id)} >= {"notify"}
    clock.advance(days=40)
    late = complaint(rec, key="ACC-1")
    assert late.incident.state.tier == 1, "30 days on, it is not a repeat"
    assert complaint(rec, key="ACC-2").incident.state.tier == 1, "another customer"
    # replaying the events rebuilds the raised tier without reading the history again
    assert rec.replay(again.id).tier == 2


def test_compensation_in_the_last_months_raises_the_tier(rec: Recovery, clock: Clock) -> None:
    first = telecom(rec, key="SUB-9").id
    rec.complete_step(first, "credit", {"amount": 20, "reason": "double charge"}, actor=FRONT_DESK)
    clock.advance(days=60)  # past the 30-day repeat, inside the 6 months
    again = telecom(rec, key="SUB-9").incident.state
    assert again.cue_rules_fired == ["compensated_recently"]
    assert again.tier == 2 and "retention_call" in again.steps


def test_a_hand_off_produces_a_customer_update(rec: Recovery, clock: Clock) -> None:
    incident = open_hotel(rec, key="LOY-8").id
    assert rec.customer_updates(incident) == []
    clock.advance(minutes=20)
    rec.hand_off(incident, "jesper", "Guest is upset about the late check-in", actor=FRONT_DESK)
    (update,) = rec.customer_updates(incident)
    assert update.kind == "new_owner"
    assert update.at == rec.timeline(incident)[-1].recorded_at
    assert "jesper" not in repr(update) and "upset" not in repr(update), "no staff words"
    rec.add_note(incident, "a note is no news for the customer", actor=FRONT_DESK)
    assert len(rec.customer_updates(incident)) == 1


def test_migration_0010_back_fills_the_key_from_the_recorded_customer(db_url: str) -> None:
    engine = create_db_engine(db_url)
    rec = over_engine(engine)
    by_key = open_hotel(rec, key="LOY-1", contact="a@example.com").id
    by_contact = open_hotel(rec, contact=" B@Example.com").id
    nobody = open_hotel(rec).id
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")  # as a database written before customers
    upgrade(engine)
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, customer_key FROM incidents")).all())
    assert rows == {by_key: "LOY-1", by_contact: "b@example.com", nobody: None}
    assert [i.incident_id for i in rec.customer("b@example.com").incidents] == [by_contact]
    rec.dispose()


def test_a_moved_deadline_produces_a_customer_update(rec: Recovery, clock: Clock) -> None:
    incident = open_hotel(rec, key="LOY-9").id
    rec.hold(incident, "the guest's bank details", step="pay_room", actor=FRONT_DESK)
    assert rec.customer_updates(incident) == [], "a hold is shown as what we wait for"
    clock.advance(hours=2)
    rec.resume(incident, actor=FRONT_DESK)
    (update,) = rec.customer_updates(incident)
    assert update.kind == "deadlines_moved"
