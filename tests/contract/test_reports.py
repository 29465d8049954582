"""Acceptance story 2: the step-by-step minimum shows up in the report as pushes and a worse
recovery score than the same story done by the playbook."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.service.letter_delivery import deliver_letters
from tests.conftest import FRONT_DESK, MANAGER, Clock

HOTEL_EVIDENCE: list[tuple[str, dict[str, Any]]] = [
    ("apologise", {"apology_by": "Duty manager"}),
    ("rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 0.4}),
    ("pay_room", {"amount": 189}),
    ("dinner", {"amount": 80, "restaurant": "Sælhunden"}),
    ("ask_what_else", {"answer": "a late checkout tomorrow"}),
]


class _Accepting:
    """A mailer whose server accepts every letter at once."""

    def send(self, message: EmailMessage) -> str:
        return str(message["Message-ID"])


def _hotel_story(rec: Recovery, clock: Clock, site: str, *, old_way: bool) -> str:
    opened = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site=site,
            customer=CustomerProfile(name="Mette Jensen"),
        ),
        actor=FRONT_DESK,
        channel="desk",
    )
    incident = opened.id
    for step, evidence in HOTEL_EVIDENCE:
        clock.advance(minutes=3)
        if old_way:
            # The guest has to ask before each next level of service is offered.
            rec.record_push(incident, f"asked for: {step}", step=step, actor=FRONT_DESK)
            clock.advance(minutes=12)
        rec.complete_step(incident, step, evidence, actor=FRONT_DESK)
    rec.draft_letter(incident, "written_apology", note="We are sorry.", actor=MANAGER)
    rec.request_letter(incident, "written_apology", recipient="mette@example.dk", actor=MANAGER)
    assert deliver_letters(rec, _Accepting()).sent == 1
    rec.close(incident, actor=FRONT_DESK)
    return incident


def test_the_old_way_reports_pushes_and_a_worse_score(rec: Recovery, clock: Clock) -> None:
    _hotel_story(rec, clock, "playbook-way", old_way=False)
    _hotel_story(rec, clock, "old-way", old_way=True)

    rows = {row.group: row for row in rec.report(by="site")}
    right, old = rows["playbook-way"], rows["old-way"]

    assert right.pushes_per_incident == 0
    assert right.recovery_score == 100
    assert right.first_contact_full_remedy_pct == 100
    assert old.pushes_per_incident == len(HOTEL_EVIDENCE)
    assert old.recovery_score < right.recovery_score
    assert old.first_contact_full_remedy_pct == 0
    assert old.median_minutes_to_apology is not None
    assert right.median_minutes_to_apology is not None
    assert old.median_minutes_to_apology > right.median_minutes_to_apology
    assert old.deadlines_kept_pct is not None and right.deadlines_kept_pct == 100
    assert old.deadlines_kept_pct < 100  # waiting for pushes made the apology late


def test_report_filters_by_playbook_and_period(rec: Recovery, clock: Clock) -> None:
    first = clock()
    _hotel_story(rec, clock, "ribe", old_way=False)
    clock.advance(days=10)
    later = clock()
    _hotel_story(rec, clock, "ribe", old_way=True)

    assert [r.incidents for r in rec.report(by="all")] == [2]
    assert [r.incidents for r in rec.report(by="all", since=later)] == [1]
    assert [r.incidents for r in rec.report(by="all", until=later)] == [1]
    assert rec.report(by="all", since=first, playbook="telecom-billing-error") == []
