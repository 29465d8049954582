"""A letter writes its times in the property's zone, marked, as the customer's status page
does: a guest at Ribe reads Danish time (CEST in July), one in Jakarta WIB, and a property
without a calendar UTC, said so. The clock stands at 14:00 UTC."""

from __future__ import annotations

import pytest

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.service.letter_delivery import deliver_letters
from tests.conftest import FRONT_DESK, MANAGER
from tests.contract.test_letters import DONE_BEFORE_LETTER, Accepting


def guest_at(rec: Recovery, site: str) -> str:
    command = OpenIncident(
        incident_type="hotel.walked_guest",
        site=site,
        customer=CustomerProfile(name="Mette Jensen", contact="mette@example.dk"),
        summary="booked for the wrong month",
    )
    incident = rec.open(command, actor=FRONT_DESK, channel="desk").id
    for step, evidence in DONE_BEFORE_LETTER:
        rec.complete_step(incident, step, evidence, actor=FRONT_DESK)
    return incident


@pytest.mark.parametrize(
    ("site", "marked", "not_shown"),
    [
        ("ribe-central", "4 July 2026, 16:00 CEST", "14:00"),
        ("jakarta-thamrin", "4 July 2026, 21:00 WIB", "14:00"),
        ("somewhere-without-a-calendar", "4 July 2026, 14:00 UTC", "16:00"),
    ],
)
def test_the_letter_sent_says_its_times_in_the_propertys_zone(
    rec: Recovery, site: str, marked: str, not_shown: str
) -> None:
    incident = guest_at(rec, site)
    preview = rec.render_letter(incident, "written_apology", preview=True)
    assert f"We apologised in person ({marked})" in preview.text

    rec.draft_letter(incident, "written_apology", actor=MANAGER)
    rec.request_letter(incident, "written_apology", actor=MANAGER)
    mailer = Accepting()
    deliver_letters(rec, mailer)
    [mail] = mailer.sent
    body = mail.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert f"We apologised in person ({marked})" in text
    assert f"({marked})" in mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert not_shown not in text
