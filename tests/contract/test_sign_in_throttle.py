"""The sign-in throttle, on every storage: failures counted per username from one address,
per username from anywhere and per address, shared by every `Accounts` over one database
(each server process has its own) and kept across a restart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from recovery import Recovery
from recovery.service.accounts import Accounts, SignInLimits, SignInThrottled
from recovery.storage.accounts import SqlAccountStore
from recovery.storage.database import create_db_engine, upgrade
from recovery.storage.tables.access import sign_in_failures
from tests.conftest import Clock

LIMITS = SignInLimits(per_user_and_address=3, per_user=6, per_address=8)


def accounts(rec: Recovery, clock: Clock) -> Accounts:
    """What one server process holds: its own Accounts over the shared storage."""
    return Accounts(rec.storage.accounts, clock, sign_in_limits=LIMITS)


def test_many_usernames_from_one_address_are_refused_known_or_not(
    rec: Recovery, clock: Clock
) -> None:
    first, second = accounts(rec, clock), accounts(rec, clock)
    first.add_user("ana", "right horse", "front_desk", ["ribe"])
    for n in range(8):  # spread over two processes, unknown usernames
        assert (first if n % 2 else second).check_sign_in(f"nobody{n}", "guess", "10.0.0.9") is None
    with pytest.raises(SignInThrottled) as refused:
        first.check_sign_in("ana", "right horse", "10.0.0.9")
    assert "from this address" in str(refused.value)
    assert timedelta(minutes=14) < refused.value.retry_after <= timedelta(minutes=15)
    assert second.check_sign_in("ana", "right horse", "10.0.0.10") is not None, "per address"


def test_one_username_from_many_addresses_is_refused(rec: Recovery, clock: Clock) -> None:
    first, second = accounts(rec, clock), accounts(rec, clock)
    first.add_user("bo", "right horse", "front_desk", ["ribe"])
    for n in range(6):
        assert (first if n % 2 else second).check_sign_in("bo", "guess", f"10.1.0.{n}") is None
    with pytest.raises(SignInThrottled) as refused:
        second.check_sign_in("bo", "right horse", "10.1.0.99")
    assert "for this username" in str(refused.value)
    # unknown usernames are counted the same way
    for n in range(6):
        assert first.check_sign_in("ghost", "guess", f"10.2.0.{n}") is None
    with pytest.raises(SignInThrottled):
        second.check_sign_in("ghost", "guess", "10.2.0.99")


def test_the_count_survives_a_restart_and_lifts_after_the_window(
    rec: Recovery, clock: Clock
) -> None:
    accounts(rec, clock).add_user("cy", "right horse", "front_desk", ["ribe"])
    before = accounts(rec, clock)
    for _ in range(3):
        assert before.check_sign_in("cy", "guess", "10.3.0.1") is None
    clock.advance(minutes=5)
    restarted = accounts(rec, clock)  # a new process: nothing held in memory
    with pytest.raises(SignInThrottled) as refused:
        restarted.check_sign_in("cy", "right horse", "10.3.0.1")
    assert "for this username from this address" in str(refused.value)
    assert timedelta(minutes=9) < refused.value.retry_after <= timedelta(minutes=10)
    clock.advance(minutes=10, seconds=1)
    assert restarted.check_sign_in("cy", "right horse", "10.3.0.1") is not None


def test_old_failures_are_purged_in_bounded_batches(db_url: str) -> None:
    engine = create_db_engine(db_url)
    upgrade(engine)
    store = SqlAccountStore(engine)
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(600):  # 1,800 rows of old failures
        store.record_sign_in_failure(
            [f"u:old{n}", f"a:10.0.{n // 250}.{n % 250}", "x"], long_ago, long_ago
        )
    now = long_ago + timedelta(days=1)

    def rows() -> int:
        with engine.connect() as conn:
            return int(
                conn.execute(select(func.count()).select_from(sign_in_failures)).scalar_one()
            )

    before = rows()
    for _ in range(32):  # one of any 32 failures recorded also purges up to 500 old rows
        store.record_sign_in_failure(["u:new"], now, now - timedelta(minutes=15))
    assert rows() == before + 32 - 500
    assert store.sign_in_failures(["u:new"], now - timedelta(minutes=15)) == {"u:new": (32, now)}
    engine.dispose()
