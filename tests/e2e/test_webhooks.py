"""End to end: the hotel story's effects reach the back office's webhooks while a worker
runs beside the engine, signed, each once, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import pytest

from recovery import CustomerProfile, OpenIncident, Recovery, StorageError
from recovery.delivery import (
    DELIVERED,
    FAILED,
    DeliveryStats,
    RetryPolicy,
    WebhookTarget,
    delivery_status,
    parse_targets,
    run_worker,
)
from recovery.delivery.testing import WebhookReceiver
from recovery.letters import FileMailer
from recovery.service.letter_delivery import deliver_letters
from recovery.storage.sql import SqlStorage
from tests.conftest import FRONT_DESK, MANAGER, Clock

PMS_SECRET = "pms-secret"
CRM_SECRET = "crm-secret"


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for webhook deliveries")
        time.sleep(0.01)


@contextmanager
def background_worker(
    db_url: str, targets: list[WebhookTarget], clock: Clock
) -> Iterator[list[DeliveryStats]]:
    """`run_worker` in a thread with its own storage, stopped on exit."""
    stop = threading.Event()
    result: list[DeliveryStats] = []
    storage = SqlStorage.from_url(db_url, migrate=False)

    def work() -> None:
        result.append(
            run_worker(storage.outbox, targets, clock=clock, poll_interval=0.02, stop=stop)
        )

    thread = threading.Thread(target=work)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join(timeout=10)
        storage.dispose()
    assert not thread.is_alive()


def test_the_hotel_storys_effects_reach_the_back_office(
    db_url: str, rec: Recovery, clock: Clock, tmp_path: Path
) -> None:
    with (
        WebhookReceiver(PMS_SECRET) as pms,
        WebhookReceiver(CRM_SECRET, responses=[503]) as crm,
    ):
        targets = parse_targets(
            json.dumps(
                [
                    {
                        "url": pms.url,
                        "secret": PMS_SECRET,
                        "kinds": ["book_room", "post_payment"],
                    },
                    {
                        "url": crm.url,
                        "secret": CRM_SECRET,
                        "kinds": ["notify", "send_letter", "escalation"],
                    },
                ]
            )
        )
        with background_worker(db_url, targets, clock) as stats:
            out = rec.open(
                OpenIncident(
                    incident_type="hotel.walked_guest",
                    site="ribe",
                    customer=CustomerProfile(name="Mette Jensen", member_since=date(2015, 3, 1)),
                    summary="reservation booked for June instead of July",
                ),
                actor=FRONT_DESK,
                channel="desk",
            )
            incident = out.id
            rec.complete_step(incident, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK)
            rec.complete_step(
                incident,
                "rebook_local",
                {"hotel": "Hotel Dagmar", "distance_km": 0.8},
                actor=FRONT_DESK,
            )
            rec.complete_step(
                incident, "pay_room", {"amount": 129, "reference": "PAY-1"}, actor=FRONT_DESK
            )
            wait_until(lambda: len(pms.accepted()) == 2)
            assert [r.json()["kind"] for r in pms.accepted()] == ["book_room", "post_payment"]

            rec.escalate(incident, "guest posted a review in the lobby", actor=FRONT_DESK)
            drafted = rec.draft_letter(
                incident,
                "written_apology",
                note="We are truly sorry that your reservation was lost.",
                actor=MANAGER,
            )
            code = drafted.incident.state.steps["written_apology"].evidence["voucher_code"]
            rec.request_letter(
                incident, "written_apology", recipient="mette@example.dk", actor=MANAGER
            )
            # the mail worker: the letter is accepted, the step sent, send_letter requested
            assert deliver_letters(rec, FileMailer(tmp_path / "mail")).sent == 1
            # the CRM's first answer was 503: that notify waits for its retry
            wait_until(lambda: len(crm.accepted()) == 3)
            clock.advance(seconds=5)
            wait_until(lambda: len(crm.accepted()) == 4)

    pms_kinds = [r.json()["kind"] for r in pms.accepted()]
    crm_kinds = sorted(r.json()["kind"] for r in crm.accepted())
    assert pms_kinds == ["book_room", "post_payment"]
    assert crm_kinds == ["escalation", "notify", "notify", "send_letter"]
    for request in [*pms.requests, *crm.requests]:
        assert request.signature_ok
        assert request.json()["incident_id"] == incident
        assert request.header("X-Recovery-Event") == request.json()["event"]
    letter = next(r.json() for r in crm.accepted() if r.json()["kind"] == "send_letter")
    assert letter["effect"]["evidence"]["voucher_code"] == code
    assert letter["effect"]["evidence"]["message_id"]
    payment = pms.accepted()[1].json()
    assert payment["effect"]["evidence"]["amount"] == 129

    accepted = Counter(r.delivery_id for r in [*pms.accepted(), *crm.accepted()])
    assert set(accepted.values()) == {1}
    status = delivery_status(rec.storage.outbox, incident)
    assert status.counts[DELIVERED] == 6 and status.backlog == 0
    assert sorted(m.attempts for m in status.messages) == [1, 1, 1, 1, 1, 2]
    assert stats[0].delivered == 6 and stats[0].failed == 1


def test_run_once_retries_with_backoff_until_the_receiver_recovers(
    rec: Recovery, clock: Clock
) -> None:
    incident = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Ole Dahl"),
        ),
        actor=FRONT_DESK,
    ).id
    rec.complete_step(
        incident, "rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 2}, actor=FRONT_DESK
    )
    policy = RetryPolicy()  # default: 5 s, 10 s, ... with jitter (only ever shorter)
    with WebhookReceiver(PMS_SECRET, responses=[500, 502]) as pms:
        targets = [WebhookTarget(pms.url, PMS_SECRET)]
        outcomes = []
        for attempt in (1, 2, 3):
            stats = run_worker(rec.storage.outbox, targets, clock=clock, once=True, policy=policy)
            outcomes.append((stats.delivered, stats.failed))
            clock.advance(seconds=policy.nominal_delay(attempt).total_seconds())
    assert outcomes == [(0, 1), (0, 1), (1, 0)]
    (message,) = delivery_status(rec.storage.outbox, incident).messages
    assert (message.kind, message.status, message.attempts) == ("book_room", DELIVERED, 3)
    assert [r.status for r in pms.requests] == [500, 502, 200]


def test_a_database_outage_does_not_stop_the_worker(tmp_path: Path) -> None:
    storage = SqlStorage.from_url(
        f"sqlite:///{tmp_path / 'missing' / 'recovery.db'}", migrate=False
    )
    targets = [WebhookTarget("http://127.0.0.1:9/hooks", "s")]
    try:
        with pytest.raises(StorageError):
            run_worker(storage.outbox, targets, once=True)
        stop = threading.Event()
        timer = threading.Timer(0.2, stop.set)
        timer.start()
        stats = run_worker(storage.outbox, targets, poll_interval=0.02, stop=stop)
        timer.join()
        assert stats.claimed == 0
    finally:
        storage.dispose()


def test_a_receiver_that_never_answers_in_time_is_retried(rec: Recovery, clock: Clock) -> None:
    incident = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Kim Berg"),
        ),
        actor=FRONT_DESK,
    ).id
    rec.escalate(incident, "no room anywhere in town", actor=FRONT_DESK)
    with WebhookReceiver(CRM_SECRET, delay=1.0) as slow:
        stats = run_worker(
            rec.storage.outbox,
            [WebhookTarget(slow.url, CRM_SECRET)],
            clock=clock,
            once=True,
            timeout=0.2,
            lease=timedelta(seconds=30),
        )
    assert stats.failed == 1
    (message,) = delivery_status(rec.storage.outbox, incident).messages
    assert message.status == FAILED
    assert "ReadTimeout" in (message.last_error or "")
