"""decide/apply without a database: what the engine decides for each command, and how.

The domain is pure (time and ids come in as arguments), so every rule a front desk relies
on can be checked here in microseconds: cue rules, tiers, step lifecycles, approvals,
waivers, lateness, evidence messages, and that a refused command changes nothing.
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from recovery.catalog import Catalog
from recovery.domain.apply import apply, replay
from recovery.domain.commands import (
    Actor,
    AddNote,
    Close,
    CustomerProfile,
    Escalate,
    HandOff,
    IncidentCommand,
    OpenIncident,
    RecordPush,
    Release,
    Reopen,
    ReportCues,
    StepAction,
)
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.decide import MAX_TIER, Context, decide, decide_open
from recovery.domain.queries import allowed_actions, pending_for_close
from recovery.domain.state import Event, IncidentState
from recovery.errors import (
    CommandRejectedError,
    IntegrityError,
    InvalidEvidenceError,
    NotAllowedNowError,
    PermissionDeniedError,
)
from recovery.letters.vouchers import new_voucher_code

PLAYBOOK_DIR = Path(__file__).resolve().parents[2] / "playbooks"
CATALOG = Catalog.from_directory(PLAYBOOK_DIR)
HOTEL = CATALOG.get("hotel-walked-guest")
LOYAL = CATALOG.get("loyal-customer-at-risk")
COMPLAINT = CATALOG.get("complaint-written-answer")

NOW = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)
DESK = Actor(id="ana", role="front_desk")
MANAGER = Actor(id="mads", role="manager")
AUDITOR = Actor(id="aud", role="auditor")
MAILER = Actor(id="mailer", role="system")

HOTEL_STEPS = [
    "apologise",
    "rebook_local",
    "pay_room",
    "dinner",
    "ask_what_else",
    "written_apology",
]


class Incident:
    """One incident driven through decide/apply in memory, keeping its event log."""

    def __init__(
        self,
        compiled: CompiledPlaybook = HOTEL,
        *,
        customer: dict[str, Any] | None = None,
        cues: list[str] | None = None,
        incident_type: str | None = None,
    ) -> None:
        self.compiled = compiled
        command = OpenIncident(
            incident_type=incident_type or compiled.playbook.incident_types[0],
            site="ribe",
            customer=CustomerProfile(name="Mette Jensen", **(customer or {})),
            cues=cues or [],
        )
        self.state, event = decide_open(compiled, "inc_1", command, ctx())
        self.events: list[Event] = [event]

    @property
    def opened(self) -> Event:
        return self.events[0]

    def do(self, command: IncidentCommand, actor: Actor = DESK, *, at: datetime = NOW) -> Event:
        before = copy.deepcopy(self.state)
        try:
            self.state, event = decide(self.compiled, self.state, command, ctx(actor, at))
        except CommandRejectedError:
            assert self.state == before, "a refused command must leave the state untouched"
            raise
        self.events.append(event)
        return event

    def step(self, step: str, name: str, actor: Actor = DESK, **kw: Any) -> Event:
        at = kw.pop("at", NOW)
        return self.do(StepAction(step=step, name=name, **kw), actor, at=at)

    def refused(
        self, error: type[CommandRejectedError], command: IncidentCommand, actor: Actor = DESK
    ) -> CommandRejectedError:
        version = self.state.version
        with pytest.raises(error) as caught:
            self.do(command, actor)
        assert self.state.version == version
        return caught.value


def ctx(actor: Actor = DESK, at: datetime = NOW) -> Context:
    return Context(actor=actor, channel="desk", now=at)


def effects(event: Event) -> list[dict[str, Any]]:
    return list(event.data.get("effects", []))


def notified(event: Event) -> set[str]:
    return {e["role"] for e in effects(event) if e["kind"] == "notify"}


def years_ago(years: int, *, days: int = 0) -> date:
    return NOW.date().replace(year=NOW.year - years) + timedelta(days=days)


# ------------------------------------------------------------------ opening and cue rules


def test_open_opens_every_step_of_the_bundle_at_once_with_deadlines() -> None:
    inc = Incident()
    assert list(inc.state.steps) == HOTEL_STEPS
    assert {s.status for s in inc.state.steps.values()} == {"open"}
    assert inc.state.tier == 1
    assert inc.state.owner == "ana"
    assert inc.state.version == 1
    assert inc.opened.seq == 1 and inc.opened.type == "opened"
    assert inc.opened.playbook_id == "hotel-walked-guest"
    assert inc.opened.playbook_version == 3
    assert inc.state.steps["apologise"].due_at == "2026-07-04T14:05:00.000000Z"
    assert inc.state.steps["written_apology"].due_at == "2026-07-06T14:00:00.000000Z"
    assert effects(inc.opened) == []
    assert "close" not in allowed_actions(HOTEL, inc.state)
    assert "apologise.complete" in allowed_actions(HOTEL, inc.state)


def test_tenure_of_five_years_raises_the_tier_adds_the_manager_call_and_notifies() -> None:
    inc = Incident(customer={"member_since": years_ago(6)})
    assert inc.state.tier == 2
    assert list(inc.state.steps) == [*HOTEL_STEPS, "manager_call"]
    call = inc.state.steps["manager_call"]
    assert call.added_by == "loyal_guest"
    assert call.owner == "manager"
    assert call.status == "open"
    assert call.due_at == "2026-07-04T18:00:00.000000Z"
    assert inc.state.cue_rules_fired == ["loyal_guest"]
    assert notified(inc.opened) == {"manager", "loyalty_team"}
    assert inc.state.customer["tenure_years"] >= 5


def test_a_four_year_customer_is_not_yet_a_loyal_guest() -> None:
    inc = Incident(customer={"member_since": years_ago(4)})
    assert inc.state.tier == 1
    assert "manager_call" not in inc.state.steps
    assert effects(inc.opened) == []


def test_tenure_rule_fires_on_the_fifth_anniversary_not_the_day_before() -> None:
    on_the_day = Incident(customer={"member_since": years_ago(5)})
    assert on_the_day.state.cue_rules_fired == ["loyal_guest"]
    a_day_short = Incident(customer={"member_since": years_ago(5, days=1)})
    assert a_day_short.state.cue_rules_fired == [], (
        f"joined {years_ago(5, days=1)}: not yet five years at {NOW.date()}, "
        f"tenure computed as {a_day_short.state.customer['tenure_years']}"
    )
    assert a_day_short.state.customer["tenure_years"] < 5


def test_upset_cue_raises_the_tier_and_notifies_the_manager() -> None:
    inc = Incident(cues=["upset"])
    assert inc.state.tier == 2
    assert inc.state.steps["manager_call"].added_by == "upset_guest"
    assert inc.state.cues == ["upset"]
    assert notified(inc.opened) == {"manager"}


def test_two_rules_adding_the_same_step_add_it_once() -> None:
    inc = Incident(customer={"member_since": years_ago(10)}, cues=["upset"])
    assert list(inc.state.steps).count("manager_call") == 1
    assert inc.state.cue_rules_fired == ["loyal_guest", "upset_guest"]
    assert [e["reason"] for e in effects(inc.opened)] == [
        "cue:loyal_guest",
        "cue:loyal_guest",
        "cue:upset_guest",
    ]


def test_big_order_at_stake_raises_the_tier_to_three() -> None:
    inc = Incident(LOYAL, customer={"order_value": 10000})
    assert inc.state.tier == 3
    assert "manager_call" in inc.state.steps
    assert notified(inc.opened) == {"manager", "account_manager"}
    small = Incident(LOYAL, customer={"order_value": 9999.99})
    assert small.state.tier == 1
    assert set(small.state.steps) == {"acknowledge", "recommended_offer"}


def test_cues_reported_later_add_steps_and_notify_once() -> None:
    inc = Incident()
    event = inc.do(ReportCues(cues=["upset"]))
    assert event.type == "cues_reported"
    assert inc.state.tier == 2
    assert inc.state.steps["manager_call"].added_by == "upset_guest"
    assert inc.state.steps["manager_call"].due_at == "2026-07-04T18:00:00.000000Z"
    assert notified(event) == {"manager"}

    again = inc.do(ReportCues(cues=["upset", "public_complaint"]))
    assert effects(again) == [], "a rule that already fired does not notify again"
    assert again.data["cues"] == ["public_complaint"]
    assert inc.state.cues == ["upset", "public_complaint"]
    assert list(inc.state.steps).count("manager_call") == 1


def test_order_value_reported_later_fires_the_big_order_rule() -> None:
    inc = Incident(LOYAL)
    inc.do(ReportCues(cues=["asked_for_discount"], order_value=25000))
    assert inc.state.tier == 3
    assert inc.state.customer["order_value"] == 25000
    assert "manager_call" in inc.state.steps


def test_escalate_raises_the_tier_notifies_and_is_capped() -> None:
    inc = Incident()
    event = inc.do(Escalate(reason="no room found in town"))
    assert inc.state.status == "escalated"
    assert inc.state.tier == 2
    assert inc.state.escalations == 1
    assert effects(event) == [
        {"kind": "escalation", "role": "manager", "reason": "no room found in town"}
    ]
    for _ in range(MAX_TIER + 2):
        inc.do(Escalate(reason="still nothing"))
    assert inc.state.tier == MAX_TIER


# ------------------------------------------------------------------ step lifecycles


def test_written_step_is_drafted_queued_then_sent_by_the_mail_worker() -> None:
    inc = Incident()
    voucher = HOTEL.steps["written_apology"].voucher
    assert voucher is not None
    code = new_voucher_code(voucher)
    queued = {"recipient": "m@x.dk", "letter_id": "let_1", "letter_digest": "0" * 64}

    early = inc.refused(
        NotAllowedNowError,
        StepAction(step="written_apology", name="request_send", evidence=queued),
    )
    assert early.state == "written_apology:open"
    assert "written_apology.draft" in early.allowed

    no_code = inc.refused(
        InvalidEvidenceError,
        StepAction(step="written_apology", name="draft", evidence={"body": "Dear Mette"}),
    )
    assert no_code.field == "evidence.voucher_code"
    forged = inc.refused(
        InvalidEvidenceError,
        StepAction(step="written_apology", name="draft", evidence={"voucher_code": "FREE-1"}),
    )
    assert forged.field == "evidence.voucher_code"

    inc.step("written_apology", "draft", evidence={"body": "Dear Mette", "voucher_code": code})
    assert inc.state.steps["written_apology"].status == "drafted"
    assert "written_apology" in pending_for_close(HOTEL, inc.state)
    other_code = new_voucher_code(voucher)
    kept = inc.refused(
        InvalidEvidenceError,
        StepAction(step="written_apology", name="draft", evidence={"voucher_code": other_code}),
    )
    assert code in str(kept)

    no_recipient = inc.refused(
        InvalidEvidenceError,
        StepAction(
            step="written_apology",
            name="request_send",
            evidence={k: v for k, v in queued.items() if k != "recipient"},
        ),
    )
    assert no_recipient.field == "evidence.recipient"
    inc.step("written_apology", "request_send", evidence=queued)
    assert inc.state.steps["written_apology"].status == "sending"
    assert "written_apology" in pending_for_close(HOTEL, inc.state), "queued is not sent"

    accepted = {"letter_id": "let_1", "message_id": "<1@mail.example>"}
    by_hand = inc.refused(
        PermissionDeniedError,
        StepAction(step="written_apology", name="send", evidence=accepted),
        MANAGER,
    )
    assert "request_send" in str(by_hand)
    sent = inc.step(
        "written_apology", "send", MAILER, evidence=accepted, at=NOW + timedelta(hours=3)
    )
    step = inc.state.steps["written_apology"]
    assert step.status == "sent"
    assert step.resolved_at == "2026-07-04T17:00:00.000000Z"
    assert step.late is False
    assert step.evidence["voucher_code"] == code
    assert step.evidence["message_id"] == "<1@mail.example>"
    assert {"kind": "send_letter", "step": "written_apology"}.items() <= effects(sent)[0].items()
    assert "written_apology" not in pending_for_close(HOTEL, inc.state)


def test_a_bounced_letter_goes_back_to_drafted() -> None:
    inc = Incident()
    voucher = HOTEL.steps["written_apology"].voucher
    assert voucher is not None
    inc.step("written_apology", "draft", evidence={"voucher_code": new_voucher_code(voucher)})
    queued = {"recipient": "m@x.dk", "letter_id": "let_1", "letter_digest": "0" * 64}
    inc.step("written_apology", "request_send", evidence=queued)
    inc.step(
        "written_apology",
        "bounce",
        MAILER,
        evidence={"letter_id": "let_1", "error": "550 no such user"},
    )
    assert inc.state.steps["written_apology"].status == "drafted"
    assert "written_apology" in pending_for_close(HOTEL, inc.state)


def test_desk_pays_within_its_limit_without_approval() -> None:
    inc = Incident()
    event = inc.step("pay_room", "complete", evidence={"amount": 300, "reference": "R-1"})
    assert inc.state.steps["pay_room"].status == "done"
    assert inc.state.steps["pay_room"].approval is None
    assert effects(event)[0]["kind"] == "post_payment"


def test_payment_above_the_desk_limit_needs_a_managers_approval() -> None:
    inc = Incident()
    over = inc.refused(
        NotAllowedNowError, StepAction(step="pay_room", name="complete", evidence={"amount": 450})
    )
    assert "300" in str(over) and "request approval" in str(over)
    assert "pay_room.request_approval" in over.allowed

    no_amount = inc.refused(
        CommandRejectedError, StepAction(step="pay_room", name="request_approval")
    )
    assert no_amount.field == "amount"
    requested = inc.step("pay_room", "request_approval", amount=450, reason="only hotel left")
    assert notified(requested) == {"manager"}
    assert inc.state.steps["pay_room"].status == "awaiting_approval"

    desk_grant = inc.refused(
        PermissionDeniedError, StepAction(step="pay_room", name="grant_approval")
    )
    assert "manager" in str(desk_grant)
    inc.step("pay_room", "grant_approval", MANAGER)
    approval = inc.state.steps["pay_room"].approval
    assert approval is not None
    assert approval["requested_at"] <= approval["decided_at"]
    assert {k: v for k, v in approval.items() if not k.endswith("_at")} == {
        "status": "granted",
        "requested_amount": 450,
        "requested_by": "ana",
        "granted_amount": 450,
        "decided_by": "mads",
    }

    too_much = inc.refused(
        InvalidEvidenceError,
        StepAction(step="pay_room", name="complete", evidence={"amount": 460}),
    )
    assert too_much.field == "evidence.amount"
    inc.step("pay_room", "complete", evidence={"amount": 450})
    assert inc.state.steps["pay_room"].status == "done"


def test_a_manager_cannot_grant_above_the_managers_own_limit() -> None:
    inc = Incident()
    inc.step("pay_room", "request_approval", amount=2500)
    error = inc.refused(
        PermissionDeniedError, StepAction(step="pay_room", name="grant_approval"), MANAGER
    )
    assert error.field == "amount"
    assert "2000" in str(error)


def test_a_decline_must_offer_alternatives() -> None:
    inc = Incident()
    inc.step("dinner", "request_approval", amount=400)
    bare_no = inc.refused(
        CommandRejectedError, StepAction(step="dinner", name="deny_approval"), MANAGER
    )
    assert bare_no.field == "alternatives"
    inc.step("dinner", "deny_approval", MANAGER, alternatives=["dinner up to 150 EUR"])
    step = inc.state.steps["dinner"]
    assert step.status == "open"
    assert step.approval is not None
    assert step.approval["status"] == "denied"
    assert step.approval["alternatives"] == ["dinner up to 150 EUR"]
    inc.step("dinner", "complete", evidence={"amount": 150, "restaurant": "Kroen"})
    assert inc.state.steps["dinner"].status == "done"


def test_waiving_needs_a_manager_and_a_reason() -> None:
    inc = Incident()
    desk = inc.refused(
        PermissionDeniedError, StepAction(step="dinner", name="waive", reason="guest declined")
    )
    assert "manager" in str(desk)
    no_reason = inc.refused(CommandRejectedError, StepAction(step="dinner", name="waive"), MANAGER)
    assert no_reason.field == "reason"
    event = inc.step("dinner", "waive", MANAGER, reason="guest declined dinner")
    assert event.data["reason"] == "guest declined dinner"
    step = inc.state.steps["dinner"]
    assert step.status == "waived"
    assert step.resolved_at is not None
    assert "dinner" not in pending_for_close(HOTEL, inc.state)
    again = inc.refused(NotAllowedNowError, StepAction(step="dinner", name="complete"), MANAGER)
    assert again.state == "dinner:waived"


def test_late_completion_is_recorded_as_late() -> None:
    inc = Incident()
    inc.step("apologise", "complete", evidence={"apology_by": "Ana"}, at=NOW + timedelta(minutes=4))
    assert inc.state.steps["apologise"].late is False
    late = inc.step(
        "ask_what_else", "complete", evidence={"answer": "nothing"}, at=NOW + timedelta(hours=2)
    )
    assert late.data["late"] is True
    assert inc.state.steps["ask_what_else"].late is True
    assert inc.state.steps["ask_what_else"].resolved_at == "2026-07-04T16:00:00.000000Z"


def test_unknown_step_is_refused_naming_the_steps() -> None:
    inc = Incident()
    error = inc.refused(CommandRejectedError, StepAction(step="spa_voucher", name="complete"))
    assert error.field == "step"
    assert "apologise" in str(error)


# ------------------------------------------------------------------ evidence


def test_rebooking_further_than_local_is_refused_naming_the_field() -> None:
    inc = Incident()
    far = {"hotel": "Vejen Hotel", "distance_km": 32}
    error = inc.refused(
        InvalidEvidenceError, StepAction(step="rebook_local", name="complete", evidence=far)
    )
    assert error.field == "evidence.distance_km"
    assert "5" in str(error) and "guest_consents_further" in str(error)
    inc.step("rebook_local", "complete", evidence={**far, "guest_consents_further": True})
    assert inc.state.steps["rebook_local"].evidence == {**far, "guest_consents_further": True}


@pytest.mark.parametrize(
    ("evidence", "field", "words"),
    [
        ({"distance_km": 2}, "evidence.hotel", "required"),
        ({"hotel": "Kroen", "distance_km": "two"}, "evidence.distance_km", "number"),
        ({"hotel": "Kroen", "distance_km": -1}, "evidence.distance_km", "at least 0"),
        ({"hotel": "Kroen", "distance_km": True}, "evidence.distance_km", "number"),
        ({"hotel": "Kroen", "distance_km": "nan"}, "evidence.distance_km", "number"),
        ({"hotel": "Kroen", "distance_km": float("nan")}, "evidence.distance_km", "number"),
        ({"hotel": 7, "distance_km": 2}, "evidence.hotel", "text"),
        ({"hotel": "Kroen", "distance_km": 2, "stars": 4}, "evidence.stars", "not asked"),
        (
            {"hotel": "Kroen", "distance_km": 2, "guest_consents_further": "maybe"},
            "evidence.guest_consents_further",
            "true or false",
        ),
    ],
)
def test_evidence_errors_name_the_field(evidence: dict[str, Any], field: str, words: str) -> None:
    inc = Incident()
    error = inc.refused(
        InvalidEvidenceError, StepAction(step="rebook_local", name="complete", evidence=evidence)
    )
    assert error.field == field
    assert words in str(error)


@pytest.mark.parametrize("amount", ["nan", float("nan"), "inf", float("-inf")])
def test_an_amount_that_is_not_a_finite_number_is_refused(amount: Any) -> None:
    telecom = Incident(CATALOG.get("telecom-billing-error"))
    error = telecom.refused(
        InvalidEvidenceError,
        StepAction(
            step="correct_bill",
            name="complete",
            evidence={"invoice_number": "F-1", "corrected_amount": amount},
        ),
    )
    assert error.field == "evidence.corrected_amount"


def test_a_desk_cannot_pay_nan_euros_without_approval() -> None:
    inc = Incident()
    error = inc.refused(
        InvalidEvidenceError,
        StepAction(step="pay_room", name="complete", evidence={"amount": "NaN"}),
    )
    assert error.field == "evidence.amount"


def test_evidence_is_normalised_before_it_is_recorded() -> None:
    inc = Incident()
    event = inc.step(
        "rebook_local",
        "complete",
        evidence={"hotel": "  Kroen ", "distance_km": "2.5", "guest_consents_further": "no"},
    )
    assert event.data["evidence"] == {
        "hotel": "Kroen",
        "distance_km": 2.5,
        "guest_consents_further": False,
    }


def test_choice_and_date_evidence_are_checked() -> None:
    inc = Incident(LOYAL)
    bad_date = inc.refused(
        InvalidEvidenceError,
        StepAction(
            step="acknowledge",
            name="complete",
            evidence={"member_since": "since forever", "upset_heard": "bill"},
        ),
    )
    assert bad_date.field == "evidence.member_since"
    complaint = Incident(COMPLAINT)
    bad_choice = complaint.refused(
        InvalidEvidenceError,
        StepAction(
            step="acknowledge",
            name="complete",
            evidence={"acknowledged_by": "Ana", "channel": "pigeon"},
        ),
    )
    assert bad_choice.field == "evidence.channel"
    assert "phone" in str(bad_choice)


# ------------------------------------------------------------------ incident actions


def test_close_is_refused_while_required_steps_are_open_listing_them() -> None:
    inc = Incident()
    inc.step("apologise", "complete", evidence={"apology_by": "Ana"})
    error = inc.refused(NotAllowedNowError, Close())
    assert error.state == "open"
    for step in HOTEL_STEPS[1:]:
        assert step in str(error)
    assert "apologise" not in str(error).split(":", 1)[1]
    assert "close" not in error.allowed
    assert "rebook_local.complete" in error.allowed


def test_incident_closes_when_every_required_step_is_resolved_and_can_reopen() -> None:
    inc = Incident()
    for step in HOTEL_STEPS:
        inc.step(step, "waive", MANAGER, reason="testing the close rule")
    assert pending_for_close(HOTEL, inc.state) == []
    assert "close" in allowed_actions(HOTEL, inc.state)
    inc.do(Close(summary="all done"), at=NOW + timedelta(hours=1))
    assert inc.state.status == "closed"
    assert inc.state.ended_at == "2026-07-04T15:00:00.000000Z"
    assert sorted(allowed_actions(HOTEL, inc.state)) == ["add_note", "record_contact", "reopen"]
    inc.do(Reopen(reason="guest wrote back"))
    assert inc.state.status == "open"
    assert inc.state.ended_at is None


def test_optional_steps_do_not_block_closing() -> None:
    inc = Incident(COMPLAINT)
    assert "goodwill_credit" not in pending_for_close(COMPLAINT, inc.state)
    assert "goodwill_credit" in inc.state.steps


def test_actions_not_allowed_now_report_the_state_and_what_is_allowed() -> None:
    inc = Incident()
    inc.do(Release(reason="fully booked town", referral="Hotel Dagmar, Ribe"))
    assert inc.state.status == "released"
    assert inc.state.release == {"reason": "fully booked town", "referral": "Hotel Dagmar, Ribe"}
    for command in (
        StepAction(step="apologise", name="complete", evidence={"apology_by": "Ana"}),
        Escalate(reason="x"),
        Close(),
        RecordPush(asked_for="a room"),
        HandOff(to="bo", context="guest waiting in lobby"),
    ):
        error = inc.refused(NotAllowedNowError, command)
        assert error.state == "released"
        assert sorted(error.allowed) == ["add_note", "record_contact", "reopen"]
    inc.do(AddNote(text="guest thanked us for the referral"))
    assert inc.state.notes == 1


def test_push_hand_off_and_their_counts() -> None:
    inc = Incident()
    inc.do(RecordPush(asked_for="a room in town", step="rebook_local"))
    inc.do(RecordPush(asked_for="dinner"))
    assert inc.state.pushes == 2
    assert inc.state.steps["rebook_local"].pushed == 1
    unknown = inc.refused(CommandRejectedError, RecordPush(asked_for="x", step="spa"))
    assert unknown.field == "step"

    event = inc.do(HandOff(to="bo", context="guest needs a room in Ribe tonight"))
    assert event.data["from"] == "ana"
    assert inc.state.owner == "bo"
    assert inc.state.handoffs == 1
    same = inc.refused(CommandRejectedError, HandOff(to="bo", context="already with bo"))
    assert same.field == "to"


def test_an_auditor_can_change_nothing() -> None:
    inc = Incident()
    for command in (
        AddNote(text="looks fine"),
        StepAction(step="apologise", name="complete", evidence={"apology_by": "Ana"}),
        Escalate(reason="x"),
    ):
        inc.refused(PermissionDeniedError, command, AUDITOR)
    with pytest.raises(PermissionDeniedError):
        decide_open(
            HOTEL,
            "inc_2",
            OpenIncident(
                incident_type="hotel.walked_guest", site="ribe", customer=CustomerProfile(name="x")
            ),
            ctx(AUDITOR),
        )


def test_open_refuses_an_incident_type_the_playbook_does_not_handle() -> None:
    with pytest.raises(CommandRejectedError) as caught:
        decide_open(
            HOTEL,
            "inc_2",
            OpenIncident(
                incident_type="energy.complaint", site="x", customer=CustomerProfile(name="x")
            ),
            ctx(),
        )
    assert caught.value.field == "incident_type"


# ------------------------------------------------------------------ apply and replay


def full_story() -> Incident:
    inc = Incident(customer={"member_since": years_ago(7)})
    inc.step("apologise", "complete", evidence={"apology_by": "Ana"})
    inc.do(ReportCues(cues=["upset"]))
    inc.step("pay_room", "request_approval", amount=450)
    inc.step("pay_room", "grant_approval", MANAGER)
    inc.step("pay_room", "complete", evidence={"amount": 450})
    inc.do(RecordPush(asked_for="dinner", step="dinner"))
    inc.do(HandOff(to="bo", context="dinner and letter still to do"))
    inc.step("dinner", "waive", MANAGER, reason="guest ate at the wedding")
    inc.do(Escalate(reason="guest upset"), at=NOW + timedelta(hours=5))
    return inc


def test_replaying_the_events_rebuilds_the_state_exactly() -> None:
    inc = full_story()
    assert replay(HOTEL, inc.events) == inc.state
    for n in range(1, len(inc.events)):
        assert replay(HOTEL, inc.events[:n]).version == n


def test_apply_refuses_an_event_out_of_sequence() -> None:
    inc = full_story()
    skipped = [*inc.events[:3], *inc.events[4:]]
    with pytest.raises(IntegrityError) as caught:
        replay(HOTEL, skipped)
    assert caught.value.seq == 5
    with pytest.raises(IntegrityError) as caught:
        apply(HOTEL, None, inc.events[1])
    assert caught.value.seq == 2


def test_apply_refuses_an_event_its_state_machine_does_not_allow() -> None:
    inc = Incident()
    state_before = copy.deepcopy(inc.state)
    inc.step("apologise", "complete", evidence={"apology_by": "Ana"})
    twice = Event(**{**inc.events[1].__dict__, "seq": 3})
    with pytest.raises(IntegrityError) as caught:
        replay(HOTEL, [inc.events[0], inc.events[1], twice])
    assert caught.value.seq == 3
    assert replay(HOTEL, [inc.events[0]]) == state_before


def test_state_survives_its_json_round_trip() -> None:
    state = full_story().state
    assert IncidentState.from_json(state.to_json()) == state


@pytest.mark.parametrize(
    ("joined", "today", "loyal"),
    [
        (date(2020, 2, 29), date(2025, 2, 28), False),
        (date(2020, 2, 29), date(2025, 3, 1), True),
        (date(2021, 7, 5), date(2026, 7, 4), False),
        (date(2021, 7, 4), date(2026, 7, 4), True),
        (date(2030, 1, 1), date(2026, 7, 4), False),
    ],
)
def test_tenure_counts_calendar_years(joined: date, today: date, loyal: bool) -> None:
    at = datetime(today.year, today.month, today.day, 9, 0, tzinfo=UTC)
    state, _ = decide_open(
        HOTEL,
        "inc_1",
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="x", member_since=joined),
        ),
        ctx(at=at),
    )
    assert ("loyal_guest" in state.cue_rules_fired) is loyal
    assert 0 <= state.customer["tenure_years"] < 100


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: CustomerProfile(name="x", order_value=float("inf")), "order_value"),
        (lambda: ReportCues(cues=["upset"], order_value=float("inf")), "order_value"),
        (
            lambda: StepAction(step="pay_room", name="request_approval", amount=float("inf")),
            "amount",
        ),
        (
            lambda: StepAction(step="pay_room", name="request_approval", amount=float("nan")),
            "amount",
        ),
    ],
)
def test_command_amounts_must_be_finite(make: Any, field: str) -> None:
    # JSON has no infinity: it would be recorded as null and replay differently
    with pytest.raises(ValidationError) as caught:
        make()
    assert caught.value.errors()[0]["loc"] == (field,)
