"""Webhook delivery against both backends, to a real HTTP receiver on 127.0.0.1.

Claims, leases, retries and the dead state are storage behaviour, so they run on SQLite
and PostgreSQL; the clock is the test's, moved forward instead of sleeping.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import socket
import threading
from collections import Counter
from datetime import date, timedelta

import pytest

from recovery import CustomerProfile, OpenIncident, Recovery
from recovery.delivery import (
    DEAD,
    DELIVERED,
    DELIVERING,
    FAILED,
    PENDING,
    SKIPPED,
    Claim,
    Deliverer,
    DeliveryStats,
    MessageStatus,
    RetryPolicy,
    WebhookTarget,
    deliver_due,
    delivery_status,
    parse_targets,
    sign,
    verify_signature,
)
from recovery.delivery.testing import WebhookReceiver
from recovery.domain.state import iso, parse_iso
from recovery.storage.sql import SqlStorage
from tests.conftest import FRONT_DESK, Clock

SECRET = "test-secret"
NO_JITTER = RetryPolicy(jitter=0)


def open_loyal_guest(rec: Recovery, name: str = "Mette Jensen", site: str = "ribe") -> str:
    """A hotel incident for a guest who joined in 2015: the cue rule notifies the manager
    and the loyalty team (two `notify` effects in the opening event)."""
    out = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site=site,
            customer=CustomerProfile(name=name, member_since=date(2015, 3, 1)),
        ),
        actor=FRONT_DESK,
        channel="desk",
    )
    return out.id


def rebook(rec: Recovery, incident_id: str) -> None:
    rec.complete_step(
        incident_id,
        "rebook_local",
        {"hotel": "Hotel Dagmar", "distance_km": 0.8},
        actor=FRONT_DESK,
    )


def messages(rec: Recovery, incident_id: str) -> list[MessageStatus]:
    return delivery_status(rec.storage.outbox, incident_id).messages


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


# ---------------------------------------------------------------------------- pure parts


def test_signature_is_hmac_sha256_of_the_raw_body() -> None:
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert sign(body, SECRET) == f"sha256={expected}"
    assert verify_signature(body, SECRET, f"sha256={expected}")
    assert not verify_signature(body + b" ", SECRET, f"sha256={expected}")
    assert not verify_signature(body, "other", f"sha256={expected}")
    assert not verify_signature(body, SECRET, None)


def test_backoff_doubles_from_5s_to_a_1h_cap_and_jitter_only_shortens() -> None:
    policy = RetryPolicy()
    nominal = [policy.nominal_delay(n).total_seconds() for n in range(1, 12)]
    assert nominal[:5] == [5, 10, 20, 40, 80]
    assert max(nominal) == 3600 and nominal[-1] == 3600
    assert policy.nominal_delay(10_000) == timedelta(hours=1)
    rng = random.Random(7)
    for attempt in range(1, 20):
        wait = policy.delay(attempt, rng)
        assert policy.nominal_delay(attempt) * 0.8 <= wait <= policy.nominal_delay(attempt)
    assert policy.delay(1, rng, retry_after=timedelta(seconds=90)) == timedelta(seconds=90)
    assert policy.delay(1, rng, retry_after=timedelta(days=2)) == timedelta(hours=1)


def test_targets_parse_from_json_with_located_errors() -> None:
    targets = parse_targets(
        '[{"url": "https://pms.example/hooks", "secret": "pms-s3cr3t", "kinds": ["book_room"],'
        ' "sites": ["ribe"]}, {"url": "http://crm.example/in", "secret": "t"}]'
    )
    assert [t.url for t in targets] == ["https://pms.example/hooks", "http://crm.example/in"]
    assert targets[0].wants("book_room", "ribe") and not targets[0].wants("notify", "ribe")
    assert not targets[0].wants("book_room", "vejle"), "another property's effect"
    assert targets[1].wants("notify", "vejle")
    assert "pms-s3cr3t" not in repr(targets[0])
    with pytest.raises(ValueError, match=r"RECOVERY_WEBHOOKS\[0\]\.secret"):
        parse_targets('[{"url": "https://pms.example/hooks"}]')
    with pytest.raises(ValueError, match=r"RECOVERY_WEBHOOKS\[1\]: webhook url"):
        parse_targets(
            '[{"url": "https://a.example", "secret": "s"}, {"url": "ftp://x", "secret": "s"}]'
        )
    with pytest.raises(ValueError, match="empty kinds"):
        WebhookTarget("https://a.example", "s", kinds=[])
    with pytest.raises(ValueError, match="empty sites"):
        WebhookTarget("https://a.example", "s", sites=[])
    with pytest.raises(ValueError, match=r"RECOVERY_WEBHOOKS\[0\]\.sites"):
        parse_targets('[{"url": "https://a.example", "secret": "s", "sites": []}]')


def test_a_lease_shorter_than_the_requests_is_refused(sqlite_url: str) -> None:
    storage = SqlStorage.from_url(sqlite_url, migrate=False)
    try:
        with pytest.raises(ValueError, match="lease"):
            Deliverer(
                storage.outbox,
                [WebhookTarget("http://a.example", "s")],
                lease=timedelta(seconds=5),
            )
        with pytest.raises(ValueError, match="no webhook targets"):
            Deliverer(storage.outbox, [])
    finally:
        storage.dispose()


# ---------------------------------------------------------------------------- delivery


def test_effects_are_posted_signed_to_every_target_that_wants_them(
    rec: Recovery, clock: Clock
) -> None:
    incident = open_loyal_guest(rec)
    rebook(rec, incident)
    with (
        WebhookReceiver(SECRET) as everything,
        WebhookReceiver("pms-secret") as pms,
    ):
        targets = [
            WebhookTarget(everything.url, SECRET),
            WebhookTarget(pms.url, "pms-secret", kinds={"book_room"}),
        ]
        clock.advance(seconds=1)
        stats = deliver_due(rec.storage.outbox, targets, clock=clock)

    assert (stats.claimed, stats.delivered, stats.failed, stats.requests) == (3, 3, 0, 4)
    messages = rec.outbox(incident)
    assert [(m["kind"], m["status"], m["attempts"]) for m in messages] == [
        ("notify", DELIVERED, 1),
        ("notify", DELIVERED, 1),
        ("book_room", DELIVERED, 1),
    ]
    got = everything.requests
    assert [r.delivery_id for r in got] == [str(m["id"]) for m in messages]
    for request, message in zip(got, messages, strict=True):
        expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.header("X-Recovery-Signature") == f"sha256={expected}"
        assert request.signature_ok
        assert request.header("X-Recovery-Event") == message["payload"]["event"]
        assert request.header("X-Recovery-Timestamp") == str(int(clock().timestamp()))
        assert request.header("X-Recovery-Attempt") == "1"
        assert request.header("Content-Type") == "application/json"
        body = request.json()
        assert body["delivery_id"] == message["id"]
        assert body["event"] == f"{incident}:{message['seq']}"
        assert body["effect"] == message["payload"]
    assert {r.json()["effect"]["role"] for r in got[:2]} == {"manager", "loyalty_team"}
    booked = got[2].json()["effect"]
    assert booked["kind"] == "book_room" and booked["evidence"]["hotel"] == "Hotel Dagmar"

    assert [r.json()["kind"] for r in pms.requests] == ["book_room"]
    assert pms.requests[0].signature_ok

    status = delivery_status(rec.storage.outbox, incident)
    assert status.counts[DELIVERED] == 3 and status.backlog == 0
    assert {m.delivered_at for m in status.messages} == {iso(clock())}


def test_a_property_system_hears_of_its_own_propertys_effects_only(
    rec: Recovery, clock: Clock
) -> None:
    ribe = open_loyal_guest(rec, site="ribe")
    vejle = open_loyal_guest(rec, site="vejle")
    elsewhere = open_loyal_guest(rec, site="aarhus")
    for incident in (ribe, vejle, elsewhere):
        rebook(rec, incident)
    with WebhookReceiver("r") as ribe_pms, WebhookReceiver("v") as vejle_pms:
        targets = [
            WebhookTarget(ribe_pms.url, "r", kinds={"book_room"}, sites={"ribe"}),
            WebhookTarget(vejle_pms.url, "v", sites={"vejle"}),
        ]
        clock.advance(seconds=1)
        stats = deliver_due(rec.storage.outbox, targets, clock=clock)

    assert [r.json()["incident_id"] for r in ribe_pms.requests] == [ribe]
    assert [r.json()["kind"] for r in ribe_pms.requests] == ["book_room"]
    assert {r.json()["incident_id"] for r in vejle_pms.requests} == {vejle}
    assert len(vejle_pms.requests) == 3  # both notices and the booking
    assert (stats.claimed, stats.delivered) == (4, 4)
    assert {m.status for m in messages(rec, elsewhere)} == {PENDING}, "waits for its target"
    assert {m.status for m in messages(rec, ribe) if m.kind == "notify"} == {PENDING}


def test_a_receiver_failing_twice_gets_it_on_the_third_attempt(rec: Recovery, clock: Clock) -> None:
    incident = open_loyal_guest(rec)
    rebook(rec, incident)
    with WebhookReceiver(SECRET, responses=[500, 500]) as hooks:
        target = WebhookTarget(hooks.url, SECRET, kinds={"book_room"})
        with Deliverer(rec.storage.outbox, [target], clock=clock, policy=NO_JITTER) as worker:
            first = worker.deliver_due()
            (booking,) = [m for m in messages(rec, incident) if m.kind == "book_room"]
            assert (first.failed, booking.status, booking.attempts) == (1, FAILED, 1)
            assert "HTTP 500" in (booking.last_error or "")
            assert booking.next_attempt_at == iso(clock() + timedelta(seconds=5))

            assert worker.deliver_due().claimed == 0  # not due yet
            clock.advance(seconds=4.9)
            assert worker.deliver_due().claimed == 0

            clock.advance(seconds=0.1)
            assert worker.deliver_due().failed == 1
            (booking,) = [m for m in messages(rec, incident) if m.kind == "book_room"]
            assert booking.next_attempt_at == iso(clock() + timedelta(seconds=10))

            clock.advance(seconds=10)
            assert worker.deliver_due().delivered == 1

    (booking,) = [m for m in messages(rec, incident) if m.kind == "book_room"]
    assert (booking.status, booking.attempts) == (DELIVERED, 3)
    assert booking.delivered_at == iso(clock())
    assert "attempt 2" in (booking.last_error or "")  # why it took three attempts
    assert [r.status for r in hooks.requests] == [500, 500, 200]
    assert len({r.delivery_id for r in hooks.requests}) == 1
    assert len({r.body for r in hooks.requests}) == 1  # the same bytes every time
    assert [r.header("X-Recovery-Attempt") for r in hooks.requests] == ["1", "2", "3"]
    # the notify messages wait, pending, for a target that wants them
    assert {m.status for m in messages(rec, incident) if m.kind == "notify"} == {PENDING}


def test_a_retry_goes_only_to_the_targets_that_have_not_accepted(
    rec: Recovery, clock: Clock
) -> None:
    incident = open_loyal_guest(rec)
    rebook(rec, incident)
    with (
        WebhookReceiver(SECRET) as pms,
        WebhookReceiver(SECRET, responses=[500]) as crm,
    ):
        targets = [
            WebhookTarget(pms.url, SECRET, kinds={"book_room"}),
            WebhookTarget(crm.url, SECRET, kinds={"book_room"}),
        ]
        with Deliverer(rec.storage.outbox, targets, clock=clock, policy=NO_JITTER) as worker:
            assert worker.deliver_due().failed == 1
            clock.advance(seconds=5)
            assert worker.deliver_due().delivered == 1

    (booking,) = [m for m in messages(rec, incident) if m.kind == "book_room"]
    assert (booking.status, booking.attempts) == (DELIVERED, 2)
    assert [r.header("X-Recovery-Attempt") for r in pms.requests] == ["1"], "accepted once"
    assert [r.status for r in crm.requests] == [500, 200]
    assert sorted(booking.accepted_by) == sorted([pms.url, crm.url])


def test_retry_after_from_the_receiver_is_honoured(rec: Recovery, clock: Clock) -> None:
    incident = open_loyal_guest(rec)
    with WebhookReceiver(SECRET, responses=[(503, {"Retry-After": "120"})]) as hooks:
        deliver_due(rec.storage.outbox, [WebhookTarget(hooks.url, SECRET)], clock=clock, limit=1)
    first = messages(rec, incident)[0]
    assert first.status == FAILED
    assert first.next_attempt_at == iso(clock() + timedelta(seconds=120))


def test_an_unreachable_receiver_is_retried_then_dead(rec: Recovery, clock: Clock) -> None:
    incident = open_loyal_guest(rec)
    policy = RetryPolicy(max_attempts=4, jitter=0)
    target = WebhookTarget(closed_port_url(), SECRET)
    waits = []
    with Deliverer(rec.storage.outbox, [target], clock=clock, policy=policy, timeout=2) as worker:
        for _ in range(policy.max_attempts):
            stats = worker.deliver_due()
            assert stats.claimed == 2
            nxt = messages(rec, incident)[0].next_attempt_at
            waits.append(parse_iso(nxt) - clock())
            clock.advance(hours=1)
        assert stats.dead == 2
        clock.advance(days=30)
        assert worker.deliver_due().claimed == 0  # dead stays dead
    assert waits[:3] == [timedelta(seconds=s) for s in (5, 10, 20)]
    for message in messages(rec, incident):
        assert (message.status, message.attempts) == (DEAD, 4)
        assert (message.last_error or "").startswith("attempt 4: ")
        assert "ConnectError" in (message.last_error or "")
    status = delivery_status(rec.storage.outbox, incident, statuses=[DEAD])
    assert status.counts[DEAD] == 2 and len(status.messages) == 2


def test_a_receiver_answering_500_forever_ends_dead_with_its_error_kept(
    rec: Recovery, clock: Clock
) -> None:
    incident = open_loyal_guest(rec)
    policy = RetryPolicy(max_attempts=3)
    with WebhookReceiver(SECRET, default_status=500) as hooks:
        target = WebhookTarget(hooks.url, SECRET)
        with Deliverer(rec.storage.outbox, [target], clock=clock, policy=policy) as worker:
            for _ in range(5):
                worker.deliver_due()
                clock.advance(hours=1)
    assert len(hooks.requests) == 2 * 3
    for message in messages(rec, incident):
        assert message.status == DEAD
        assert "HTTP 500: error 500" in (message.last_error or "")


def test_a_killed_workers_claim_expires_and_another_worker_delivers(
    rec: Recovery, clock: Clock
) -> None:
    incident = open_loyal_guest(rec)
    lease = timedelta(minutes=2)
    with WebhookReceiver(SECRET) as hooks:
        target = WebhookTarget(hooks.url, SECRET)
        killed = Deliverer(rec.storage.outbox, [target], clock=clock, lease=lease)
        claims = killed.claim()  # ... and the process dies before delivering
        killed.close()
        assert len(claims) == 2
        assert {m.status for m in messages(rec, incident)} == {DELIVERING}

        with Deliverer(rec.storage.outbox, [target], clock=clock, lease=lease) as other:
            clock.advance(seconds=119)
            assert other.deliver_due().claimed == 0  # still held by the dead worker
            assert hooks.requests == []
            clock.advance(seconds=1)
            stats = other.deliver_due()
        assert (stats.claimed, stats.delivered) == (2, 2)

        # The "dead" worker comes back: too late to send, and its stale claim can record
        # nothing over the newer claim's outcome.
        late = Deliverer(rec.storage.outbox, [target], clock=clock, lease=lease)
        assert late.deliver(claims[0]) == SKIPPED
        late.close()
        stale = rec.storage.outbox
        assert not stale.mark_failed(claims[0], "late report", None)
        assert not stale.mark_delivered(claims[1], clock())

    assert sorted(hooks.delivery_ids()) == sorted(str(c.id) for c in claims)
    for message in messages(rec, incident):
        assert (message.status, message.attempts) == (DELIVERED, 2)


def test_a_claim_abandoned_on_the_last_attempt_goes_dead(rec: Recovery, clock: Clock) -> None:
    incident = open_loyal_guest(rec)
    target = WebhookTarget("http://127.0.0.1:9/never", SECRET)
    policy = RetryPolicy(max_attempts=1)
    with Deliverer(rec.storage.outbox, [target], clock=clock, policy=policy) as worker:
        assert len(worker.claim()) == 2
        clock.advance(minutes=6)
        stats = worker.deliver_due()
    assert (stats.claimed, stats.dead, stats.requests) == (0, 2, 0)
    for message in messages(rec, incident):
        assert message.status == DEAD
        assert "lease ran out" in (message.last_error or "")


def test_workers_racing_deliver_each_message_exactly_once(
    db_url: str, rec: Recovery, clock: Clock
) -> None:
    """200 messages, 4 workers with their own storage: SKIP LOCKED on PostgreSQL, the
    IMMEDIATE transaction on SQLite; the receiver counts each X-Recovery-Delivery."""
    incidents = [open_loyal_guest(rec, f"Guest {n}") for n in range(100)]
    expected = {str(m["id"]) for i in incidents for m in rec.outbox(i)}
    assert len(expected) == 200
    workers = 4
    start = threading.Barrier(workers)
    results: list[DeliveryStats | BaseException] = []

    with WebhookReceiver(SECRET, delay=0.002) as hooks:
        target = WebhookTarget(hooks.url, SECRET)

        def work() -> None:
            storage = SqlStorage.from_url(db_url, migrate=False)
            try:
                start.wait()
                results.append(deliver_due(storage.outbox, [target], clock=clock, batch_size=5))
            except BaseException as exc:
                results.append(exc)
            finally:
                storage.dispose()

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    counts = Counter(hooks.delivery_ids())
    assert set(counts) == expected
    assert set(counts.values()) == {1}, "a message was delivered more than once"
    assert hooks.overlaps == 0
    assert delivery_status(rec.storage.outbox).counts[DELIVERED] == 200
    delivered_by = [r.delivered for r in results if isinstance(r, DeliveryStats)]
    assert sum(delivered_by) == 200
    assert sum(1 for n in delivered_by if n) >= 2, f"no concurrency happened: {delivered_by}"


def test_a_message_that_cannot_be_sent_fails_alone(
    rec: Recovery, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    incident = open_loyal_guest(rec)
    rebook(rec, incident)
    from recovery.delivery import _worker

    real = _worker.envelope

    def broken(claim: Claim) -> bytes:
        if claim.kind == "book_room":
            raise RuntimeError("cannot encode this one")
        return real(claim)

    monkeypatch.setattr(_worker, "envelope", broken)
    with WebhookReceiver(SECRET) as hooks:
        stats = deliver_due(rec.storage.outbox, [WebhookTarget(hooks.url, SECRET)], clock=clock)
    assert (stats.delivered, stats.failed) == (2, 1)
    assert len(hooks.requests) == 2
    (booking,) = [m for m in messages(rec, incident) if m.kind == "book_room"]
    assert booking.status == FAILED
    assert "RuntimeError: cannot encode this one" in (booking.last_error or "")
