"""The demo's stories as data: who did what, through which channel, and when: the five of
the mission, then the one waiting for a newcomer (`recovery.demo.waiting`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from recovery.demo.cast import (
    ANA,
    HENRIK,
    JESPER,
    JONAS,
    KARIM,
    KARIN,
    LINE,
    MADS,
    NIELS,
    SARA,
    Act,
    DraftLetter,
    MailerPass,
    SendLetter,
    Story,
    push,
    step,
)
from recovery.demo.waiting import waiting_story
from recovery.domain.commands import (
    AddNote,
    Close,
    CustomerProfile,
    HandOff,
    Hold,
    OpenIncident,
    RecordContact,
    Release,
)


def demo_stories(now: datetime) -> list[Story]:
    """The six stories, with dates relative to `now`."""
    day = 24 * 60
    tomorrow = (now + timedelta(days=1)).date().isoformat()
    return [
        Story(
            key="hotel-right-way",
            title="Hotel walked guest, recovered the right way (whole bundle at once)",
            started_minutes_ago=2 * day,
            opener=ANA,
            channel="desk",
            incident=OpenIncident(
                incident_type="hotel.walked_guest",
                site="ribe-central",
                customer=CustomerProfile(name="Mette Jensen", contact="mette.jensen@example.dk"),
                summary="Reservation booked for June instead of July; the guests arrived two "
                "hours before a friend's wedding.",
                external_ref="RES-104233",
            ),
            acts=(
                Act(2, ANA, "desk", step("apologise", apology_by="Ana Holm, front desk")),
                Act(
                    9,
                    ANA,
                    "desk",
                    step("rebook_local", hotel="Hotel Dagmar, Ribe", distance_km=0.4),
                ),
                Act(11, ANA, "desk", step("pay_room", amount=185, reference="RC-PAY-20417")),
                Act(
                    14,
                    ANA,
                    "desk",
                    step(
                        "ask_what_else",
                        answer="A taxi to the wedding venue at 15:30; booked and paid",
                    ),
                ),
                Act(
                    16,
                    ANA,
                    "desk",
                    step("dinner", amount=96, restaurant="Restaurant Backhaus, Ribe"),
                ),
                Act(20, ANA, "desk", AddNote(text="Guests left for the wedding on time.")),
                Act(
                    day,
                    MADS,
                    "email",
                    DraftLetter(
                        "written_apology",
                        "We booked your room for the wrong month, and we know what the "
                        "weekend meant to you and Lars. Please be our guests for a night of "
                        "your choice.",
                    ),
                ),
                Act(day + 5, MADS, "email", SendLetter("written_apology")),
                Act(day + 6, MADS, "email", MailerPass()),
                Act(
                    day + 10,
                    MADS,
                    "desk",
                    Close(summary="All six steps done without a single push."),
                ),
            ),
        ),
        Story(
            key="hotel-old-way",
            title="Hotel walked guest, the old way (every step only after a push)",
            started_minutes_ago=6 * day,
            opener=JESPER,
            channel="desk",
            incident=OpenIncident(
                incident_type="hotel.walked_guest",
                site="ribe-central",
                customer=CustomerProfile(name="Camilla Berg", contact="camilla.berg@example.com"),
                summary="Reservation booked for the wrong month; recovered the old way, "
                "one push at a time.",
                external_ref="RES-098812",
            ),
            acts=(
                Act(1, JESPER, "desk", step("apologise", apology_by="Jesper Lund, a quick sorry")),
                Act(
                    20,
                    JESPER,
                    "desk",
                    push("a room in Ribe, not the sister hotel 32 km away", "rebook_local"),
                ),
                Act(
                    75,
                    JESPER,
                    "desk",
                    step("rebook_local", hotel="Hotel Fru Mathies, Ribe", distance_km=1.2),
                ),
                Act(80, JESPER, "desk", push("that the hotel pays for the room", "pay_room")),
                Act(95, JESPER, "desk", step("pay_room", amount=210)),
                Act(100, JESPER, "desk", push("dinner: we missed the wedding dinner", "dinner")),
                Act(200, JESPER, "desk", step("dinner", amount=80, restaurant="Saelhunden, Ribe")),
                Act(
                    210,
                    JESPER,
                    "desk",
                    push("that someone asks what we need", "ask_what_else"),
                ),
                Act(
                    212,
                    JESPER,
                    "desk",
                    step("ask_what_else", answer="An early breakfast before the drive home"),
                ),
                Act(3 * day, HENRIK, "email", push("a written apology", "written_apology")),
                Act(
                    4 * day,
                    HENRIK,
                    "email",
                    DraftLetter("written_apology", "We regret the mix-up with your reservation."),
                ),
                Act(4 * day + 5, HENRIK, "email", SendLetter("written_apology")),
                Act(4 * day + 6, HENRIK, "email", MailerPass()),
                Act(
                    4 * day + 10,
                    HENRIK,
                    "desk",
                    Close(summary="Recovered only after five pushes; the letter was late."),
                ),
            ),
        ),
        Story(
            key="transit-pass-change",
            title="Transit pass upgrade: one owner, a handoff with context, written confirmation",
            started_minutes_ago=day,
            opener=JONAS,
            channel="phone",
            incident=OpenIncident(
                incident_type="transit.pass_upgrade",
                site="copenhagen-airport",
                customer=CustomerProfile(name="Sofie Larsen", contact="sofie.larsen@example.dk"),
                summary="Wanted to upgrade a monthly pass from 2 to 4 zones; 7 minutes on hold, "
                "then sent to four points of sale in turn.",
            ),
            acts=(
                Act(
                    1,
                    JONAS,
                    "phone",
                    step("apologise", apology_by="Jonas Berg, customer service"),
                ),
                Act(
                    4,
                    JONAS,
                    "phone",
                    HandOff(
                        to="karin.dahl",
                        to_role="front_desk",
                        context="Sofie Larsen wants her monthly pass (card 3085 4417) upgraded "
                        "from zones 1-2 to zones 1-4 from tomorrow. She has tried four points of "
                        "sale and waited 7 minutes on hold: do it on this call, send her nowhere.",
                    ),
                ),
                Act(
                    9,
                    KARIN,
                    "phone",
                    step(
                        "change_now",
                        new_product="Monthly pass, zones 1-4",
                        channel="phone",
                        pass_number="3085 4417",
                    ),
                ),
                Act(
                    10,
                    KARIN,
                    "phone",
                    step(
                        "status_and_eta",
                        status_given="Upgrade done on the card; nothing else to do",
                        active_from=tomorrow,
                    ),
                ),
                Act(
                    12,
                    KARIN,
                    "email",
                    DraftLetter(
                        "written_confirmation", "Your pass 3085 4417 now covers zones 1-4."
                    ),
                ),
                Act(13, KARIN, "email", SendLetter("written_confirmation")),
                Act(14, KARIN, "email", MailerPass()),
                Act(15, KARIN, "phone", Close(summary="Upgraded in one call, one handoff.")),
            ),
        ),
        Story(
            key="loyal-customer-released",
            title="Loyal customer at risk: recognised, one offer, released honestly",
            started_minutes_ago=3 * 60,
            opener=LINE,
            channel="phone",
            incident=OpenIncident(
                incident_type="mobile.retention",
                site="odense-retention-desk",
                customer=CustomerProfile(
                    name="Peter Nielsen",
                    contact="+45 40 55 66 77",
                    member_since=date(2014, 5, 1),
                ),
                cues=["upset", "considering_competitor"],
                summary="Customer since 2014, upset about a plan change nobody told him about; "
                "comparing offers from another carrier.",
            ),
            acts=(
                Act(
                    2,
                    LINE,
                    "phone",
                    step(
                        "acknowledge",
                        member_since="2014-05-01",
                        upset_heard="US roaming was cut from his plan without notice; "
                        "he travels to the US for work every month",
                    ),
                ),
                Act(
                    10,
                    LINE,
                    "phone",
                    step(
                        "recommended_offer",
                        offer="Travel Plus: 30 GB including US roaming, 39 EUR a month",
                        accepted=False,
                    ),
                ),
                Act(
                    40,
                    SARA,
                    "phone",
                    step(
                        "manager_call",
                        outcome="Apologised that nobody told him; we cannot sell unlimited "
                        "US data any more",
                    ),
                ),
                Act(
                    60,
                    NIELS,
                    "phone",
                    step(
                        "loyalty_team_contact",
                        contact_by="Niels Bak, loyalty team",
                        outcome="He will move his number; thanked him for his years with us",
                    ),
                ),
                Act(
                    65,
                    SARA,
                    "phone",
                    Release(
                        reason="He needs unlimited US roaming data for work, which we no "
                        "longer sell",
                        referral="A carrier with unlimited US roaming; porting code sent by "
                        "SMS, no exit fee",
                    ),
                ),
            ),
        ),
        Story(
            key="energy-complaint-open",
            title="Energy complaint: written answer in progress (still open)",
            started_minutes_ago=20 * 60,
            opener=KARIM,
            channel="email",
            incident=OpenIncident(
                incident_type="energy.billing_complaint",
                site="esbjerg-complaints",
                customer=CustomerProfile(
                    name="Birgitte Poulsen", contact="birgitte.poulsen@example.dk"
                ),
                summary="Three estimated bills at twice the usual amount; an earlier agent "
                "said an answer could take 8 weeks.",
            ),
            acts=(
                Act(
                    30,
                    KARIM,
                    "email",
                    step(
                        "acknowledge",
                        acknowledged_by="Karim Haddad, complaints team",
                        channel="email",
                    ),
                ),
                Act(
                    35,
                    KARIM,
                    "email",
                    step("offer_call", accepted=True, call_time="the same day at 16:00"),
                ),
                Act(
                    300,
                    KARIM,
                    "phone",
                    RecordContact(
                        channel="phone",
                        direction="outbound",
                        summary="Called as agreed; the customer read her meter: 48 213 kWh",
                    ),
                ),
                Act(
                    320,
                    KARIM,
                    "phone",
                    step(
                        "investigate",
                        findings="Three estimated readings in a row; the actual reading is "
                        "1 140 kWh below the estimates",
                        root_cause="The meter reading visit was missed twice",
                    ),
                ),
                Act(
                    600,
                    KARIM,
                    "email",
                    DraftLetter(
                        "written_answer",
                        "Your last three bills were estimated too high because the meter "
                        "reading visit was missed twice; the corrected bill is enclosed.",
                    ),
                ),
                Act(
                    610,
                    KARIM,
                    "email",
                    AddNote(text="Answer drafted; goodwill credit to go with the corrected bill."),
                ),
                Act(
                    615,
                    KARIM,
                    "email",
                    Hold(
                        step="goodwill_credit",
                        reason="your bank account number, so we can pay the credit",
                    ),
                ),
            ),
        ),
        waiting_story(),
    ]
