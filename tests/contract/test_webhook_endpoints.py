"""Webhook endpoints back offices register: the store and the worker delivering to them,
on memory, SQLite and PostgreSQL, to a real HTTP receiver on 127.0.0.1. The clock is the
test's, moved forward instead of sleeping."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest

from recovery import Recovery
from recovery.bootstrap import services, webhook_endpoints
from recovery.delivery import (
    DELIVERED,
    FAILED,
    SIGNATURE_HEADER,
    DeliveryStats,
    RetryPolicy,
    WebhookTarget,
    deliver_due,
    delivery_status,
    verify_signature,
)
from recovery.delivery.testing import WebhookReceiver
from recovery.errors import CommandRejectedError, NotAllowedNowError, NotFoundError
from recovery.service.principal import Principal
from recovery.service.webhooks import MAX_PER_OWNER, WebhookEndpoints
from recovery.storage.sql import SqlStorage
from tests.conftest import Clock
from tests.contract.test_delivery import open_loyal_guest, rebook

PMS = Principal(kind="token", name="pms", role="integration", sites=("ribe",))
CRM = Principal(kind="token", name="crm", role="integration", sites=("ribe", "vejle"))
ADMIN = Principal(kind="token", name="root", role="admin", sites=("*",))
NO_JITTER = RetryPolicy(jitter=0)


def hooks_of(rec: Recovery) -> WebhookEndpoints:
    """The receivers here listen on 127.0.0.1: allowed as RECOVERY_WEBHOOK_PRIVATE_HOSTS
    allows them."""
    return webhook_endpoints(rec, private_hosts=True)


def deliver(
    rec: Recovery, clock: Clock, targets: list[WebhookTarget] | None = None
) -> DeliveryStats:
    return deliver_due(
        rec.storage.outbox,
        targets or [],
        clock=clock,
        policy=NO_JITTER,
        endpoints=rec.storage.webhooks,
    )


def test_an_integration_manages_only_its_own_endpoints(rec: Recovery) -> None:
    hooks = hooks_of(rec)
    mine = hooks.create(PMS, "https://pms.example/hooks", kinds=["book_room"])
    theirs = hooks.create(CRM, "https://crm.example/in", sites=["vejle"])
    assert mine.secret.startswith("whsec_") and mine.secret != theirs.secret
    assert mine.sites == ("ribe",), "no sites given: the caller's own properties"
    assert mine.owner == "token:pms" and theirs.sites == ("vejle",)

    assert [e.id for e in hooks.list_endpoints(PMS)] == [mine.id]
    assert {e.id for e in hooks.list_endpoints(ADMIN)} == {mine.id, theirs.id}
    assert {e.id for e in hooks.list_endpoints(None)} == {mine.id, theirs.id}
    for act in (
        lambda: hooks.get(PMS, theirs.id),
        lambda: hooks.rotate(PMS, theirs.id),
        lambda: hooks.delete(PMS, theirs.id),
        lambda: hooks.deliveries(PMS, theirs.id),
        lambda: hooks.get(PMS, "we_0000000000000000"),
    ):
        with pytest.raises(NotFoundError):
            act()
    assert hooks.get(CRM, theirs.id).url == "https://crm.example/in"

    deleted = hooks.delete(ADMIN, theirs.id)
    assert deleted.deleted_at is not None
    assert hooks.list_endpoints(CRM) == []
    with pytest.raises(NotFoundError):
        hooks.delete(CRM, theirs.id)
    with pytest.raises(NotFoundError):
        hooks.get(CRM, theirs.id)
    assert hooks.get(ADMIN, theirs.id).deleted_at is not None, "an admin still reads it"
    assert hooks.deliveries(None, theirs.id).items == []


def test_bad_endpoints_are_refused_saying_what_is_wrong(rec: Recovery) -> None:
    hooks = hooks_of(rec)
    cases = [
        ({"url": "ftp://pms.example/x"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://pms.example/" + "x" * 2000}, "url"),
        ({"url": "https://u:p@pms.example/"}, "url"),
        ({"url": "https://pms.example/", "kinds": ["book_rom"]}, "kinds[0]"),
        ({"url": "https://pms.example/", "kinds": []}, "kinds"),
        ({"url": "https://pms.example/", "sites": ["ribe", "vejle"]}, "sites[1]"),
    ]
    for given, field in cases:
        with pytest.raises(CommandRejectedError) as refused:
            hooks.create(PMS, **given)  # type: ignore[arg-type]
        assert refused.value.field == field, (given, refused.value)
    with pytest.raises(CommandRejectedError) as unknown:
        hooks.create(PMS, "https://pms.example/", kinds=["book_rom"])
    assert "book_room" in unknown.value.allowed and "notify" in unknown.value.allowed
    public_only = webhook_endpoints(rec, private_hosts=False)
    for url in (
        "http://127.0.0.1:8080/x",
        "http://localhost/x",
        "http://10.0.0.7/",
        "http://[::1]/",
    ):
        with pytest.raises(CommandRejectedError, match="private address"):
            public_only.create(PMS, url)
    assert public_only.create(None, "http://127.0.0.1:8080/x").owner == "operator"
    hooks.delete(None, public_only.list_endpoints(None)[0].id)
    for n in range(MAX_PER_OWNER):
        hooks.create(PMS, f"https://pms.example/{n}")
    with pytest.raises(CommandRejectedError, match="delete one first"):
        hooks.create(PMS, "https://pms.example/one-too-many")
    assert len(hooks.list_endpoints(PMS)) == MAX_PER_OWNER


def test_an_endpoint_gets_its_kinds_and_properties_since_it_was_registered_signed_and_logged(
    rec: Recovery, clock: Clock
) -> None:
    before = open_loyal_guest(rec)  # two notify effects, before any endpoint
    hooks = hooks_of(rec)
    clock.advance(seconds=1)
    with WebhookReceiver("unused") as pms, WebhookReceiver("unused") as crm:
        bookings = hooks.create(PMS, pms.url, kinds=["book_room"])
        notices = hooks.create(CRM, crm.url, kinds=["notify"], sites=["vejle"])
        pms.secret, crm.secret = bookings.secret, notices.secret
        ribe = open_loyal_guest(rec, "Guest Ribe")
        rebook(rec, ribe)  # book_room at ribe
        vejle = open_loyal_guest(rec, "Guest Vejle", site="vejle")
        stats = deliver(rec, clock)
        assert stats.delivered == 3 and stats.failed == 0
        assert [r.json()["kind"] for r in pms.accepted()] == ["book_room"]
        assert {r.json()["incident_id"] for r in crm.accepted()} == {vejle}
        assert len(crm.accepted()) == 2
        assert all(r.signature_ok for r in pms.requests + crm.requests)
    assert all(m.status == "pending" for m in delivery_status(rec.storage.outbox, before).messages)

    log = hooks.deliveries(PMS, bookings.id).items
    assert [(a.kind, a.status_code, a.attempt, a.ok) for a in log] == [("book_room", 200, 1, True)]
    assert log[0].event.startswith(f"{ribe}:") and log[0].error is None
    accepted = delivery_status(rec.storage.outbox, ribe).messages
    assert [m.accepted_by for m in accepted if m.kind == "book_room"] == [[f"ep:{bookings.id}"]]


def test_a_failing_endpoint_is_retried_alone_and_every_attempt_is_logged(
    rec: Recovery, clock: Clock
) -> None:
    hooks = hooks_of(rec)
    with WebhookReceiver("s") as good, WebhookReceiver("s", responses=[500, 503]) as bad:
        ok = hooks.create(PMS, good.url, kinds=["notify"])
        failing = hooks.create(CRM, bad.url, kinds=["notify"])
        good.secret, bad.secret = ok.secret, failing.secret
        incident = open_loyal_guest(rec)
        assert deliver(rec, clock).failed == 2
        assert [m.status for m in delivery_status(rec.storage.outbox, incident).messages] == [
            FAILED,
            FAILED,
        ]
        for _ in range(2):
            clock.advance(minutes=1)
            deliver(rec, clock)
        assert len(good.requests) == 2, "the endpoint that took it is not sent it again"
        assert len(bad.accepted()) == 2 and len(bad.requests) == 4
    counts = delivery_status(rec.storage.outbox, incident).counts
    assert counts[DELIVERED] == 2
    log = hooks.deliveries(CRM, failing.id).items
    assert sorted(a.status_code or 0 for a in log) == [200, 200, 500, 503]
    assert all(a.error and "HTTP 5" in a.error for a in log if not a.ok)
    first = hooks.deliveries(CRM, failing.id, limit=3)
    assert len(first.items) == 3 and first.next_before is not None
    rest = hooks.deliveries(CRM, failing.id, before=first.next_before, limit=3)
    assert len(rest.items) == 1 and rest.next_before is None
    assert {a.id for a in first.items + rest.items} == {a.id for a in log}


def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(
    rec: Recovery, clock: Clock
) -> None:
    hooks = hooks_of(rec)
    with WebhookReceiver("unused") as pms:
        made = hooks.create(PMS, pms.url, kinds=["notify"])
        rotated = hooks.rotate(PMS, made.id, timedelta(hours=1))
        assert rotated.secret != made.secret and rotated.previous_secret == made.secret
        pms.secret = made.secret  # a receiver that has not switched yet
        open_loyal_guest(rec)
        deliver(rec, clock)
        assert len(pms.accepted()) == 2
        header = pms.accepted()[0].header(SIGNATURE_HEADER) or ""
        body = pms.accepted()[0].body
        assert verify_signature(body, rotated.secret, header)
        assert verify_signature(body, made.secret, header)

        clock.advance(hours=2)  # the grace period is over: the new secret alone
        open_loyal_guest(rec, "Later Guest")
        deliver(rec, clock)
        late = pms.requests[-1]
        assert not late.signature_ok and late.status == 401
        assert verify_signature(late.body, rotated.secret, late.header(SIGNATURE_HEADER))
        assert "," not in (late.header(SIGNATURE_HEADER) or "")

    with pytest.raises(CommandRejectedError):
        hooks.rotate(PMS, made.id, timedelta(days=30))


def test_a_redelivery_sends_one_message_to_one_endpoint_again(rec: Recovery, clock: Clock) -> None:
    hooks = hooks_of(rec)
    with WebhookReceiver("unused") as pms, WebhookReceiver("other") as other:
        mine = hooks.create(PMS, pms.url, kinds=["notify"])
        pms.secret = mine.secret
        incident = open_loyal_guest(rec)
        configured = [WebhookTarget(other.url, "other", kinds=["notify"])]
        deliver(rec, clock, configured)
        assert len(pms.accepted()) == 2 and len(other.accepted()) == 2
        message = pms.accepted()[0].json()["delivery_id"]

        hooks.redeliver(PMS, mine.id, message)
        assert deliver(rec, clock, configured).delivered == 1
        assert [r.json()["delivery_id"] for r in pms.accepted()].count(message) == 2
        assert len(other.requests) == 2, "a redelivery goes to that endpoint only"
        assert deliver(rec, clock, configured).claimed == 0
    attempts = [a for a in hooks.deliveries(PMS, mine.id).items if a.message_id == message]
    assert [a.attempt for a in attempts] == [2, 1]
    rec.storage.webhooks.log([], prune_before=clock() + timedelta(seconds=1))
    assert hooks.deliveries(PMS, mine.id).items == [], "the log is cut by age"
    status = {m.id: m for m in delivery_status(rec.storage.outbox, incident).messages}
    assert status[message].status == DELIVERED
    assert sorted(status[message].accepted_by) == sorted([f"ep:{mine.id}", other.url])

    with pytest.raises(NotFoundError, match="never sent"):
        hooks.redeliver(PMS, mine.id, 999_999)
    theirs = hooks.create(CRM, "https://crm.example/in")
    with pytest.raises(NotFoundError):
        hooks.redeliver(PMS, theirs.id, message)


def test_a_message_held_by_a_worker_is_not_redelivered_now(rec: Recovery, clock: Clock) -> None:
    hooks = hooks_of(rec)
    with WebhookReceiver("unused") as pms:
        mine = hooks.create(PMS, pms.url, kinds=["notify"])
        pms.secret = mine.secret
        open_loyal_guest(rec)
        deliver(rec, clock)
        message = pms.accepted()[0].json()["delivery_id"]
        hooks.redeliver(PMS, mine.id, message)
        from recovery.delivery import Deliverer

        with Deliverer(rec.storage.outbox, [], clock=clock, endpoints=rec.storage.webhooks) as w:
            assert len(w.claim()) == 1
            with pytest.raises(NotAllowedNowError):
                hooks.redeliver(PMS, mine.id, message)


def test_deleted_endpoints_and_revoked_tokens_get_nothing(rec: Recovery, clock: Clock) -> None:
    hooks = hooks_of(rec)
    accounts = services(rec).accounts
    accounts.create_token("pms", "integration", ["ribe"])
    with WebhookReceiver("s") as pms, WebhookReceiver("s") as gone:
        hooks.create(PMS, pms.url, kinds=["notify"])
        deleted = hooks.create(CRM, gone.url, kinds=["notify"])
        hooks.delete(CRM, deleted.id)
        accounts.revoke_token("pms")
        open_loyal_guest(rec)
        stats = deliver(rec, clock)
    assert (stats.claimed, pms.requests, gone.requests) == (0, [], [])


@pytest.mark.sql
def test_workers_racing_deliver_each_message_once_per_endpoint(
    db_url: str, rec: Recovery, clock: Clock
) -> None:
    hooks = hooks_of(rec)
    with WebhookReceiver("a") as first, WebhookReceiver("b") as second:
        one = hooks.create(PMS, first.url, kinds=["notify"])
        two = hooks.create(CRM, second.url)
        first.secret, second.secret = one.secret, two.secret
        incidents = [open_loyal_guest(rec, f"Guest {n}") for n in range(30)]
        expected = {str(m["id"]) for i in incidents for m in rec.outbox(i)}
        workers = 3
        start = threading.Barrier(workers)
        errors: list[BaseException] = []

        def work() -> None:
            storage = SqlStorage.from_url(db_url, migrate=False)
            try:
                start.wait()
                deliver_due(
                    storage.outbox, [], clock=clock, batch_size=4, endpoints=storage.webhooks
                )
            except BaseException as exc:
                errors.append(exc)
            finally:
                storage.dispose()

        threads = [threading.Thread(target=work) for _ in range(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert not errors, errors
    for receiver in (first, second):
        counts = Counter(receiver.delivery_ids())
        assert set(counts) == expected and set(counts.values()) == {1}
        assert all(r.signature_ok for r in receiver.requests)
    assert len(hooks.deliveries(PMS, one.id, limit=200).items) == len(expected)


def test_endpoints_sharing_a_filter_each_get_what_came_after_them(
    rec: Recovery, clock: Clock
) -> None:
    hooks = hooks_of(rec)
    with WebhookReceiver("a") as early, WebhookReceiver("b") as late:
        first = hooks.create(PMS, early.url, kinds=["notify"])
        early.secret = first.secret
        before = open_loyal_guest(rec, "Early Guest")
        clock.advance(seconds=5)
        second = hooks.create(CRM, late.url, kinds=["notify"], sites=["ribe"])
        late.secret = second.secret
        after = open_loyal_guest(rec, "Late Guest")
        assert deliver(rec, clock).delivered == 4
        assert [r.json()["incident_id"] for r in early.accepted()].count(before) == 2
        assert len(early.accepted()) == 4
        assert {r.json()["incident_id"] for r in late.accepted()} == {after}
        assert len(late.accepted()) == 2
