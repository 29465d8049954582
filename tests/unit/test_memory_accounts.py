"""The memory adapters of the accounts and status link ports give what the SQL adapters
give: every scenario runs on both, with the same assertions. (Idempotency keys are written
with the events: tests/contract/test_idempotency.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery import Catalog, CustomerProfile, OpenIncident, Recovery
from recovery.errors import CommandRejectedError, StorageError
from recovery.service.ports.accounts import (
    AccountStore,
    TokenRow,
    UserRow,
)
from recovery.service.ports.links import StatusLinkStore
from recovery.storage.memory import MemoryStorage
from recovery.storage.memory.accounts import MemoryAccountStore
from recovery.storage.memory.links import MemoryStatusLinkStore
from recovery.storage.sql import SqlStorage
from tests.conftest import FRONT_DESK, Clock

T0 = datetime(2026, 7, 4, 14, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=30)
HOUR = timedelta(hours=1)


@dataclass
class Adapters:
    accounts: AccountStore
    links: StatusLinkStore
    rec: Recovery  # over the same storage: opens the incidents links point at

    def open_incident(self) -> str:
        command = OpenIncident(
            incident_type="hotel.walked_guest", site="ribe", customer=CustomerProfile(name="Mette")
        )
        return self.rec.open(command, actor=FRONT_DESK).id


@pytest.fixture(params=["memory", "sqlite"])
def adapters(
    request: pytest.FixtureRequest, tmp_path: Path, catalog: Catalog
) -> Iterator[Adapters]:
    if request.param == "memory":
        memory = MemoryStorage()
        rec = Recovery(memory, catalog, clock=Clock())
        found = Adapters(
            MemoryAccountStore(),
            MemoryStatusLinkStore(memory.incidents),
            rec,
        )
    else:
        sql = SqlStorage.from_url(f"sqlite:///{tmp_path / 'recovery.db'}")
        rec = Recovery(sql, catalog, clock=Clock())
        found = Adapters(sql.accounts, sql.links, rec)
    yield found
    rec.dispose()


def test_users(adapters: Adapters) -> None:
    store = adapters.accounts
    store.add_user("bo", "hash-bo", "manager", ["*"], T0)
    ana = store.add_user("ana", "hash-ana", "front_desk", ["ribe", "odense"], T0)
    assert ana == UserRow("ana", "hash-ana", "front_desk", ("ribe", "odense"), T0, None)
    assert ana.created_at.utcoffset() == timedelta(0)
    with pytest.raises(CommandRejectedError, match="a user named 'ana' already exists") as taken:
        store.add_user("ana", "other", "manager", [], T1)
    assert taken.value.field == "username"
    assert store.user("ana") == ana
    assert store.user("nobody") is None
    assert [user.username for user in store.list_users()] == ["ana", "bo"]

    assert store.set_password("ana", "hash-2") is True
    assert store.set_password("nobody", "hash-2") is False
    assert store.set_user_disabled("ana", T1) is True
    assert store.set_user_disabled("nobody", T1) is False
    disabled = store.user("ana")
    assert disabled is not None and not disabled.active
    assert (disabled.password_hash, disabled.disabled_at) == ("hash-2", T1)
    assert store.set_user_disabled("ana", None) is True
    assert store.user("ana") == UserRow("ana", "hash-2", "front_desk", ("ribe", "odense"), T0, None)


def test_tokens(adapters: Adapters) -> None:
    store = adapters.accounts
    ci = store.add_token("id1", "ci", "hash-ci", "integration", ["*"], T0)
    assert ci == TokenRow("id1", "ci", "integration", ("*",), T0, None)
    store.add_token("id0", "sync", "hash-sync", "integration", ["ribe"], T0)
    store.add_token("aaa", "late", "hash-late", "auditor", [], T1)
    refused = "a token named 'ci' already exists \\(revoked tokens keep their name\\)"
    with pytest.raises(CommandRejectedError, match=refused) as taken:
        store.add_token("id2", "ci", "hash-new", "integration", ["*"], T1)
    assert taken.value.field == "name"
    with pytest.raises(CommandRejectedError, match="a token named 'other' already exists"):
        store.add_token("id3", "other", "hash-ci", "integration", ["*"], T1)  # hash taken
    assert [token.id for token in store.list_tokens()] == ["id0", "id1", "aaa"]
    assert store.token_by_hash("hash-ci") == ci
    assert store.token_by_hash("unknown") is None

    revoked = store.revoke_token("ci", T1)
    assert revoked == TokenRow("id1", "ci", "integration", ("*",), T0, T1)
    assert store.token_by_hash("hash-ci") is None
    assert store.revoke_token("ci", T1) is None
    assert store.revoke_token("id0", T1) == TokenRow(
        "id0", "sync", "integration", ("ribe",), T0, T1
    )
    assert store.revoke_token("nothing", T1) is None
    assert [token.active for token in store.list_tokens()] == [False, False, True]
    with pytest.raises(CommandRejectedError, match=refused):
        store.add_token("id4", "ci", "hash-4", "integration", ["*"], T1)


def test_sessions(adapters: Adapters) -> None:
    store = adapters.accounts
    ana = store.add_user("ana", "hash-ana", "front_desk", ["ribe"], T0)
    store.add_session("s1", "ana", T0, T0 + HOUR)
    found = store.session_user("s1", T1)
    assert found == (ana, T0 + HOUR)
    assert found[1].utcoffset() == timedelta(0)
    assert store.session_user("s1", T0 + HOUR) is None  # expired at its very moment
    assert store.session_user("unknown", T1) is None
    assert store.revoke_session("s1", T1) is True
    assert store.revoke_session("s1", T1) is False
    assert store.revoke_session("unknown", T1) is False
    assert store.session_user("s1", T1) is None

    store.add_session("s2", "ana", T0, T0 + HOUR)
    assert store.set_user_disabled("ana", T1) is True
    assert store.session_user("s2", T1) is None
    assert store.set_user_disabled("ana", None) is True
    assert store.session_user("s2", T1) is None  # disabling ended it for good
    assert store.revoke_session("s2", T1) is False
    store.add_session("s3", "ana", T1, T1 + HOUR)
    assert store.session_user("s3", T1) == (ana, T1 + HOUR)
    # a reused token or an unknown user is a storage error, never a driver's own
    with pytest.raises(StorageError, match="sessions"):
        store.add_session("s3", "ana", T1, T1 + HOUR)
    with pytest.raises(StorageError, match="sessions"):
        store.add_session("s4", "nobody", T1, T1 + HOUR)


def test_status_links(adapters: Adapters) -> None:
    links, incident, other = adapters.links, adapters.open_incident(), adapters.open_incident()
    links.add("h1", incident, "ana", T0)
    links.add("h2", incident, "ana", T0)
    links.add("h3", other, "bo", T0)
    assert links.incident_of("h1") == incident
    assert links.incident_of("unknown") is None
    assert (links.active_count(incident), links.active_count("INC-none")) == (2, 0)
    refused = "status links: database error: IntegrityError"
    with pytest.raises(StorageError, match=refused):
        links.add("h1", other, "bo", T1)
    with pytest.raises(StorageError, match=refused):
        links.add("h4", "INC-none", "bo", T1)

    assert links.revoke_all(incident, T1) == 2
    assert links.revoke_all(incident, T1) == 0
    assert (links.incident_of("h1"), links.incident_of("h3")) == (None, other)
    assert (links.active_count(incident), links.active_count(other)) == (0, 1)
    links.add("h5", incident, "ana", T1)
    assert (links.incident_of("h5"), links.active_count(incident)) == (incident, 1)
