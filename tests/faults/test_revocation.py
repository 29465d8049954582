"""Revocation reaches every server process within a second: two `recovery serve` processes
on one database (SQLite file, PostgreSQL); a logout, a disabled user or a revoked token on
one is refused by the other once a second has passed. Logging out with an API token says
that it is not a session and leaves it valid."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx
import pytest

from recovery.bootstrap import open_accounts
from tests.conftest import DATABASES, pg_schema
from tests.faults.integrity_servers import recovery_servers

PASSWORD = "correct horse battery"
WITHIN = 1.0  # seconds: the promise
TOKENS = (("root", "admin"), ("pms", "integration"), ("feed", "integration"))


@pytest.fixture(scope="module", params=DATABASES)
def two_servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, dict[str, str]]]:
    """Two servers on one database, shared by this module's tests on that database (each
    test acts on accounts of its own: `ana`, `pms` and `root` for the revocations, `feed`
    for the token logout)."""
    tmp_path = tmp_path_factory.mktemp("revocation")
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite":
            db_url = f"sqlite:///{tmp_path / 'recovery.db'}"
        else:
            db_url = stack.enter_context(pg_schema(request.getfixturevalue("pg_base_url")))
        with open_accounts(db_url) as accounts:
            accounts.add_user("ana", PASSWORD, "front_desk", ["ribe"])
            tokens = {name: accounts.create_token(name, role, ["*"])[1] for name, role in TOKENS}
        first, second = stack.enter_context(recovery_servers(db_url, tmp_path, 2))
        yield first, second, tokens


def refused_after(client: httpx.Client, base: str, headers: dict[str, str]) -> float:
    """Seconds from now until `base` refuses the credentials (polled), at most `WITHIN`
    plus a margin; then, once `WITHIN` has passed, they must stay refused."""
    started = time.monotonic()
    seen = None
    while time.monotonic() - started < WITHIN + 2:
        if client.get(f"{base}/auth/me", headers=headers).status_code == 401:
            seen = time.monotonic() - started
            break
        time.sleep(0.02)
    assert seen is not None, "still accepted two seconds after the revocation"
    time.sleep(max(0.0, WITHIN - (time.monotonic() - started)))
    assert client.get(f"{base}/auth/me", headers=headers).status_code == 401
    return seen


def sign_in(client: httpx.Client, base: str) -> str:
    answer = client.post(f"{base}/auth/login", json={"username": "ana", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def test_logout_disable_and_revoke_reach_the_other_server_within_a_second(
    two_servers: tuple[str, str, dict[str, str]],
) -> None:
    first, second, tokens = two_servers
    root = {"Authorization": f"Bearer {tokens['root']}"}
    with httpx.Client(timeout=30) as client:
        # a logout on the first server; the session (bearer and cookie) on the second
        session = sign_in(client, first)
        bearer = {"Authorization": f"Bearer {session}"}
        cookie = {"Cookie": f"recovery_session={session}"}
        assert client.get(f"{second}/auth/me", headers=bearer).status_code == 200  # cached
        assert client.get(f"{second}/auth/me", headers=cookie).status_code == 200
        assert client.post(f"{first}/auth/logout", headers=bearer).status_code == 204
        logout = refused_after(client, second, bearer)
        assert client.get(f"{second}/auth/me", headers=cookie).status_code == 401

        # disabling the user on the first server ends the session on the second
        session = sign_in(client, first)
        bearer = {"Authorization": f"Bearer {session}"}
        assert client.get(f"{second}/auth/me", headers=bearer).status_code == 200
        disabled = client.post(f"{first}/admin/users/ana/disable", headers=root)
        assert disabled.status_code == 200, disabled.text
        disable = refused_after(client, second, bearer)

        # an API token revoked on the first server
        pms = {"Authorization": f"Bearer {tokens['pms']}"}
        assert client.get(f"{second}/auth/me", headers=pms).status_code == 200
        revoked = client.post(f"{first}/admin/tokens/pms/revoke", headers=root)
        assert revoked.status_code == 200, revoked.text
        revoke = refused_after(client, second, pms)
    print(
        f"\nrevocation seen by the other server after: logout {logout * 1000:.0f} ms, "
        f"disable {disable * 1000:.0f} ms, token revoke {revoke * 1000:.0f} ms"
    )


def test_logging_out_an_api_token_says_so_and_leaves_it_valid(
    two_servers: tuple[str, str, dict[str, str]],
) -> None:
    first, second, tokens = two_servers
    feed = {"Authorization": f"Bearer {tokens['feed']}"}
    with httpx.Client(timeout=30) as client:
        answer = client.post(f"{first}/auth/logout", headers=feed)
        assert answer.status_code == 422
        assert answer.json()["error"] == "not_a_session"
        assert "admin revokes" in answer.json()["message"]
        assert client.get(f"{second}/auth/me", headers=feed).status_code == 200
        assert client.get(f"{first}/auth/me", headers=feed).status_code == 200
