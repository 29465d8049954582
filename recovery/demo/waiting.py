"""What waits for a newcomer who signs in to the demo: a walked guest at Ribe Central
tonight, worked by the demo's own `desk`, whose replacement room costs more than the front
desk may pay. The request waits in the manager's approval queue and header; approving it
there shows on the desk's open page, and the rest of the story can be clicked to "closed".
"""

from __future__ import annotations

from recovery.demo.cast import Act, Story, step
from recovery.domain.commands import Actor, CustomerProfile, OpenIncident, StepAction

# The demo's own sign-in (`recovery serve --demo`), so what it asked for comes back to it.
DESK = Actor(id="desk", role="front_desk")


def waiting_story() -> Story:
    return Story(
        key="hotel-awaiting-approval",
        title="Hotel walked guest tonight: the suite waits for the manager's approval (open)",
        started_minutes_ago=25,
        opener=DESK,
        channel="desk",
        incident=OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe-central",
            customer=CustomerProfile(
                name="Lars Nygaard", contact="lars.nygaard@example.dk", language="da"
            ),
            summary="Overbooked tonight; a family of four arrived after a long drive.",
            customer_summary="We had no room for you when you arrived tonight",
            external_ref="RES-118730",
        ),
        acts=(
            Act(2, DESK, "desk", step("apologise", apology_by="the front desk, in person")),
            Act(
                12,
                DESK,
                "desk",
                step("rebook_local", hotel="Hotel Dagmar, Ribe", distance_km=0.4),
            ),
            Act(
                15,
                DESK,
                "desk",
                step("ask_what_else", answer="A taxi to the airport at 7:00 tomorrow"),
            ),
            Act(
                18,
                DESK,
                "desk",
                StepAction(
                    step="pay_room",
                    name="request_approval",
                    amount=420,
                    reason="Only a family suite was left at Hotel Dagmar tonight",
                ),
            ),
        ),
    )
