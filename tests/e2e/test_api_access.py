"""Who may do what over HTTP: every role against every endpoint, property scoping (404,
never 403, for another property's incidents), API tokens, user logins and revocation."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from recovery import Catalog
from recovery.service.accounts import Accounts, SignInThrottled
from recovery.storage.accounts import SqlAccountStore
from recovery.storage.database import create_db_engine, upgrade
from recovery.storage.tables.access import api_tokens, users
from tests.conftest import Clock
from tests.e2e.test_api_helpers import HOTEL, Api, running_api, watch_password_checks

ROLES = ["desk", "manager", "auditor", "pms", "admin"]
READERS = {"desk": 200, "manager": 200, "auditor": 200, "pms": 200, "admin": 403}
WRITERS = {"desk": 200, "manager": 200, "auditor": 403, "pms": 200, "admin": 403}
MANAGERS = {"desk": 403, "manager": 200, "auditor": 403, "pms": 403, "admin": 403}
ADMINS = {"desk": 403, "manager": 403, "auditor": 403, "pms": 403, "admin": 200}
REPORTERS = {"desk": 403, "manager": 200, "auditor": 200, "pms": 403, "admin": 403}
EVERYONE = dict.fromkeys(ROLES, 200)
WEBHOOKERS = {"desk": 403, "manager": 403, "auditor": 403, "pms": 200, "admin": 200}

_names = itertools.count()


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db = tmp_path_factory.mktemp("access") / "recovery.db"
    catalog = Catalog.from_directory(Path(__file__).resolve().parents[2] / "playbooks")
    with running_api(f"sqlite:///{db}", catalog) as running:
        yield running


Prepare = Callable[[Api], dict[str, str]]


def fresh(api: Api) -> dict[str, str]:
    return {"incident_id": api.open("manager")["id"]}


def awaiting_approval(api: Api) -> dict[str, str]:
    iid = api.open("manager")["id"]
    body = {"amount": 450, "reason": "a suite"}
    api.client("desk").post(f"/incidents/{iid}/steps/pay_room/request_approval", json=body)
    return {"incident_id": iid}


def released(api: Api) -> dict[str, str]:
    iid = api.open("manager")["id"]
    body = {"reason": "full", "referral": "the tourist office"}
    assert api.client("manager").post(f"/incidents/{iid}/release", json=body).is_success
    return {"incident_id": iid}


def on_hold(api: Api) -> dict[str, str]:
    iid = api.open("manager")["id"]
    body = {"reason": "waiting for the guest's bank details"}
    assert api.client("manager").post(f"/incidents/{iid}/hold", json=body).is_success
    return {"incident_id": iid}


def a_user(api: Api) -> dict[str, str]:
    name = f"someone{next(_names)}"
    body = {"username": name, "password": "long enough", "role": "front_desk", "sites": ["ribe"]}
    assert api.client("admin").post("/admin/users", json=body).status_code == 201
    return {"username": name}


def a_token(api: Api) -> dict[str, str]:
    body = {"name": f"victim{next(_names)}", "role": "integration", "sites": ["ribe"]}
    created = api.client("admin").post("/admin/tokens", json=body)
    assert created.status_code == 201
    return {"token": created.json()["id"]}


def an_endpoint(api: Api) -> dict[str, str]:
    pms = api.client("pms")
    for old in pms.get("/webhooks/endpoints").json()["items"][5:]:
        pms.delete(f"/webhooks/endpoints/{old['id']}")  # under the per-caller limit
    made = pms.post("/webhooks/endpoints", json={"url": "https://pms.example/hooks"})
    assert made.status_code == 201, made.text
    return {"endpoint_id": made.json()["id"]}


def playbook(_api: Api) -> dict[str, str]:
    return {"playbook_id": "hotel-walked-guest"}


def a_link(api: Api) -> dict[str, str]:
    iid = api.open("manager")["id"]
    made = api.client("manager").post(f"/incidents/{iid}/status-links")
    assert made.status_code == 201
    return {"incident_id": iid, "link_id": made.json()["id"]}


def a_written_step(api: Api) -> dict[str, str]:
    return {**fresh(api), "step_id": "written_apology"}


def a_customer(api: Api) -> dict[str, str]:
    fresh(api)
    return {"key": "mette@example.com"}


def step_action(step: str, action: str) -> Prepare:
    def prepare(api: Api) -> dict[str, str]:
        return {**fresh(api), "step": step, "action": action}

    return prepare


def approval(action: str) -> Prepare:
    def prepare(api: Api) -> dict[str, str]:
        return {**awaiting_approval(api), "step": "pay_room", "action": action}

    return prepare


@dataclass
class Case:
    method: str
    path: str
    expected: dict[str, int]
    body: Callable[[], Any] | None = None
    prepare: Prepare | None = None
    label: str = ""
    query: dict[str, Any] = field(default_factory=dict)

    def id(self) -> str:
        return f"{self.method} {self.path}{self.label}"


def with_status(expected: dict[str, int], ok: int) -> dict[str, int]:
    return {role: ok if status == 200 else status for role, status in expected.items()}


MATRIX = [
    Case("GET", "/health", EVERYONE),
    Case("GET", "/ready", EVERYONE),
    Case("GET", "/auth/me", EVERYONE),
    Case("GET", "/playbooks", EVERYONE),
    Case("GET", "/playbooks/{playbook_id}", EVERYONE, prepare=playbook),
    Case("GET", "/incidents", READERS),
    Case("GET", "/incidents/{incident_id}", READERS, prepare=fresh),
    Case("GET", "/incidents/{incident_id}/timeline", READERS, prepare=fresh),
    Case("GET", "/incidents/{incident_id}/replay", READERS, prepare=fresh, query={"seq": 1}),
    Case("GET", "/incidents/{incident_id}/verify", READERS, prepare=fresh),
    Case("GET", "/incidents/{incident_id}/deliveries", READERS, prepare=fresh),
    Case("POST", "/incidents", with_status(WRITERS, 201), body=lambda: HOTEL),
    Case(
        "POST",
        "/incidents/{incident_id}/steps/{step}/{action}",
        WRITERS,
        body=lambda: {"evidence": {"apology_by": "someone"}},
        prepare=step_action("apologise", "complete"),
        label=" (complete)",
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/steps/{step}/{action}",
        MANAGERS,
        body=lambda: {"reason": "the guest declined"},
        prepare=step_action("dinner", "waive"),
        label=" (waive)",
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/steps/{step}/{action}",
        MANAGERS,
        prepare=approval("grant_approval"),
        label=" (grant_approval)",
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/steps/{step}/{action}",
        MANAGERS,
        body=lambda: {"alternatives": ["a standard room, paid in full"]},
        prepare=approval("deny_approval"),
        label=" (deny_approval)",
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/pushes",
        WRITERS,
        body=lambda: {"asked_for": "dinner"},
        prepare=fresh,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/contacts",
        WRITERS,
        body=lambda: {"channel": "phone", "direction": "outbound", "summary": "called"},
        prepare=fresh,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/handoffs",
        WRITERS,
        body=lambda: {"to": "someone else", "context": "rebooked; dinner still to pay"},
        prepare=fresh,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/notes",
        WRITERS,
        body=lambda: {"text": "hi"},
        prepare=fresh,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/escalate",
        WRITERS,
        body=lambda: {"reason": "x"},
        prepare=fresh,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/hold",
        WRITERS,
        body=lambda: {"reason": "waiting for the guest's bank details"},
        prepare=fresh,
    ),
    Case("POST", "/incidents/{incident_id}/resume", WRITERS, body=dict, prepare=on_hold),
    Case(
        "POST",
        "/incidents/{incident_id}/release",
        WRITERS,
        body=lambda: {"reason": "full", "referral": "the tourist office"},
        prepare=fresh,
    ),
    Case("POST", "/incidents/{incident_id}/close", with_status(WRITERS, 409), prepare=fresh),
    Case(
        "POST",
        "/incidents/{incident_id}/reopen",
        WRITERS,
        body=lambda: {"reason": "x"},
        prepare=released,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/cues",
        WRITERS,
        body=lambda: {"cues": ["upset"]},
        prepare=fresh,
    ),
    Case(
        "POST",
        "/incidents/{incident_id}/status-links",
        with_status(WRITERS, 201),
        prepare=fresh,
    ),
    Case("GET", "/incidents/{incident_id}/status-links", READERS, prepare=fresh),
    Case("DELETE", "/incidents/{incident_id}/status-links/{link_id}", WRITERS, prepare=a_link),
    Case(
        "POST",
        "/incidents/{incident_id}/status-links/send",
        with_status(WRITERS, 201),
        body=lambda: {"via": "sms", "recipient": "+45 20 30 40 50"},
        prepare=fresh,
    ),
    Case("GET", "/incidents/{incident_id}/score", READERS, prepare=fresh),
    Case(
        "GET",
        "/incidents/{incident_id}/letters/{step_id}/preview",
        READERS,
        prepare=a_written_step,
    ),
    Case("GET", "/customers/{key}", READERS, prepare=a_customer),
    Case("GET", "/customers/{key}/export", ADMINS, prepare=a_customer),
    Case(
        "POST",
        "/customers/{key}/erase",
        ADMINS,
        body=lambda: {"reason": "the guest asked"},
        prepare=a_customer,
    ),
    Case("GET", "/reports/recovery", REPORTERS),
    Case("GET", "/admin/users", ADMINS),
    Case(
        "POST",
        "/admin/users",
        with_status(ADMINS, 201),
        body=lambda: {
            "username": f"new{next(_names)}",
            "password": "long enough",
            "role": "front_desk",
            "sites": ["ribe"],
        },
    ),
    Case("POST", "/admin/users/{username}/disable", ADMINS, prepare=a_user),
    Case("POST", "/admin/users/{username}/enable", ADMINS, prepare=a_user),
    Case("GET", "/admin/tokens", ADMINS),
    Case(
        "POST",
        "/admin/tokens",
        with_status(ADMINS, 201),
        body=lambda: {"name": f"pms{next(_names)}", "role": "integration", "sites": ["ribe"]},
    ),
    Case("POST", "/admin/tokens/{token}/revoke", ADMINS, prepare=a_token),
    Case(
        "POST",
        "/webhooks/endpoints",
        with_status(WEBHOOKERS, 201),
        body=lambda: {"url": "https://pms.example/hooks"},
        prepare=lambda api: an_endpoint(api) and {},
    ),
    Case("GET", "/webhooks/endpoints", WEBHOOKERS),
    Case("GET", "/webhooks/endpoints/{endpoint_id}", WEBHOOKERS, prepare=an_endpoint),
    Case(
        "POST", "/webhooks/endpoints/{endpoint_id}/rotate-secret", WEBHOOKERS, prepare=an_endpoint
    ),
    Case("DELETE", "/webhooks/endpoints/{endpoint_id}", WEBHOOKERS, prepare=an_endpoint),
    Case("GET", "/webhooks/endpoints/{endpoint_id}/deliveries", WEBHOOKERS, prepare=an_endpoint),
    Case(
        "POST",
        "/webhooks/endpoints/{endpoint_id}/redeliver",
        with_status(WEBHOOKERS, 404),  # message 1 was never sent to it
        prepare=an_endpoint,
        query={"message": 1},
    ),
]


@pytest.mark.parametrize(
    ("case", "role"),
    [(case, role) for case in MATRIX for role in ROLES],
    ids=[f"{case.id()}-{role}" for case in MATRIX for role in ROLES],
)
def test_every_role_against_every_endpoint(api: Api, case: Case, role: str) -> None:
    params = case.prepare(api) if case.prepare else {}
    path = case.path.format(**params)
    kwargs: dict[str, Any] = {"params": case.query}
    if case.body is not None:
        kwargs["json"] = case.body()
    response = api.client(role).request(case.method, path, **kwargs)
    assert response.status_code == case.expected[role], response.text
    anonymous = api.client().request(case.method, path, **kwargs)
    assert anonymous.status_code == (200 if case.path in ("/health", "/ready") else 401)


def test_the_matrix_covers_every_endpoint(api: Api) -> None:
    described = api.client().get("/openapi.json").json()["paths"]
    every = {(m.upper(), p) for p, ops in described.items() for m in ops}
    tested = {(c.method, c.path) for c in MATRIX}
    tested |= {("POST", "/auth/login"), ("POST", "/auth/logout")}  # test_people_log_in...
    assert every == tested


# ---------------------------------------------------------------------------- scope

QUERIES = ["", "/timeline", "/replay?seq=1", "/verify", "/deliveries"]


def test_another_propertys_incident_is_not_found_not_forbidden(api: Api) -> None:
    vejle = api.open("desk_vejle", site="vejle")["id"]
    ribe = api.open("desk")["id"]
    desk, auditor_vejle = api.client("desk"), api.client("auditor_vejle")
    nowhere = desk.get("/incidents/inc_does_not_exist").json()
    for suffix in QUERIES:
        hidden = desk.get(f"/incidents/{vejle}{suffix}")
        assert hidden.status_code == 404, suffix
        assert hidden.json()["error"] == nowhere["error"] == "incident_not_found"
        assert auditor_vejle.get(f"/incidents/{vejle}{suffix}").status_code == 200
        assert auditor_vejle.get(f"/incidents/{ribe}{suffix}").status_code == 404
    for path, body in [
        ("notes", {"text": "peek"}),
        ("steps/apologise/complete", {"evidence": {"apology_by": "x"}}),
        ("close", {}),
    ]:
        assert desk.post(f"/incidents/{vejle}/{path}", json=body).status_code == 404
    listed = {i["id"] for i in desk.get("/incidents", params={"limit": 500}).json()["items"]}
    assert ribe in listed
    assert vejle not in listed
    assert desk.get("/incidents", params={"site": "vejle"}).json()["items"] == []
    refused = desk.post("/incidents", json={**HOTEL, "site": "vejle"})
    assert refused.status_code == 403
    assert refused.json()["field"] == "site"
    assert len(api.client("auditor").get(f"/incidents/{vejle}/timeline").json()["events"]) == 1


def test_a_back_office_system_acts_at_front_desk_limits_and_is_recorded_as_itself(
    api: Api,
) -> None:
    pms = api.client("pms")
    iid = api.open("pms")["id"]
    over = pms.post(f"/incidents/{iid}/steps/pay_room/complete", json={"evidence": {"amount": 450}})
    assert over.status_code == 409
    paid = pms.post(f"/incidents/{iid}/steps/pay_room/complete", json={"evidence": {"amount": 180}})
    assert paid.status_code == 200
    event = paid.json()["event"]
    assert (event["actor"], event["actor_role"]) == ("integration:pms", "front_desk")


# ---------------------------------------------------------------------------- tokens and users


def test_requests_without_a_valid_token_are_401(api: Api) -> None:
    anonymous = api.client()
    missing = anonymous.get("/incidents")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    for token in ["nonsense", "rcv_t_" + "x" * 43, "rcv_s_" + "x" * 43]:
        response = anonymous.get("/incidents", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_a_revoked_token_stops_working(api: Api) -> None:
    admin = api.client("admin")
    created = admin.post(
        "/admin/tokens", json={"name": "short-lived", "role": "front_desk", "sites": ["ribe"]}
    ).json()
    assert created["token"].startswith("rcv_t_")
    client = api.client()
    headers = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/incidents", headers=headers).status_code == 200
    assert admin.post(f"/admin/tokens/{created['name']}/revoke").status_code == 200
    assert client.get("/incidents", headers=headers).status_code == 401
    assert admin.post(f"/admin/tokens/{created['id']}/revoke").status_code == 404
    listed = {t["name"]: t for t in admin.get("/admin/tokens").json()}
    assert listed["short-lived"]["active"] is False
    assert "token" not in listed["short-lived"]
    with api.engine.connect() as conn:
        stored = conn.execute(
            select(api_tokens.c.token_hash).where(api_tokens.c.name == "short-lived")
        ).scalar_one()
    assert stored != created["token"]
    assert len(stored) == 64


def test_people_log_in_act_as_themselves_and_log_out(api: Api) -> None:
    admin = api.client("admin")
    body = {"username": "ana", "password": "correct horse", "role": "front_desk", "sites": ["ribe"]}
    assert admin.post("/admin/users", json=body).status_code == 201
    assert admin.post("/admin/users", json=body).status_code == 422  # already exists
    with api.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.username == "ana"))
        assert stored.scalar_one().startswith("$argon2id$")

    browser = api.client()
    wrong = browser.post("/auth/login", json={"username": "ana", "password": "wrong horse"})
    assert wrong.status_code == 401
    nobody = browser.post("/auth/login", json={"username": "nobody", "password": "x"})
    assert nobody.status_code == 401
    login = browser.post("/auth/login", json={"username": "ana", "password": "correct horse"})
    assert login.status_code == 200, login.text
    session = login.json()
    assert session["principal"]["role"] == "front_desk"
    assert "httponly" in login.headers["set-cookie"].lower()

    # the cookie alone authenticates the browser; the token works as a bearer token too
    opened = browser.post("/incidents", json=HOTEL)
    assert opened.status_code == 201
    assert opened.json()["event"]["actor"] == "ana"
    bearer = api.client()
    headers = {"Authorization": f"Bearer {session['token']}"}
    assert bearer.get("/auth/me", headers=headers).json()["name"] == "ana"

    assert browser.post("/auth/logout").status_code == 204
    assert bearer.get("/auth/me", headers=headers).status_code == 401
    assert browser.get("/incidents").status_code == 401

    again = api.client()
    login = again.post("/auth/login", json={"username": "ana", "password": "correct horse"})
    assert login.status_code == 200
    assert admin.post("/admin/users/ana/disable").json()["active"] is False
    assert again.get("/incidents").status_code == 401  # the session ended with the account
    relog = again.post("/auth/login", json={"username": "ana", "password": "correct horse"})
    assert relog.status_code == 401
    assert admin.post("/admin/users/ana/enable").json()["active"] is True
    credentials = {"username": "ana", "password": "correct horse"}
    assert again.post("/auth/login", json=credentials).status_code == 200


def test_the_password_check_never_runs_on_the_servers_event_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It costs ~100 ms on purpose: on the loop, a few guessers would stall every request."""
    admin = api.client("admin")
    body = {"username": "di", "password": "right horse", "role": "front_desk", "sites": ["ribe"]}
    assert admin.post("/admin/users", json=body).status_code == 201
    on_loop = watch_password_checks(monkeypatch)
    guesser = api.client()
    for username, password, status in [
        ("di", "a guess", 401),
        ("nobody", "x", 401),  # an unknown username costs the same check
        ("di", "right horse", 200),
    ]:
        credentials = {"username": username, "password": password}
        assert guesser.post("/auth/login", json=credentials).status_code == status
    assert on_loop == [False, False, False]


def test_repeated_wrong_passwords_stop_being_heard_for_that_username(api: Api) -> None:
    admin = api.client("admin")
    body = {"username": "bo", "password": "right horse", "role": "front_desk", "sites": ["ribe"]}
    assert admin.post("/admin/users", json=body).status_code == 201
    guesser = api.client()
    for _ in range(5):
        wrong = guesser.post("/auth/login", json={"username": "bo", "password": "a guess"})
        assert wrong.status_code == 401

    right = guesser.post("/auth/login", json={"username": "bo", "password": "right horse"})
    assert right.status_code == 429, "not even the right password is tried now"
    assert "too many failed sign-ins" in right.json()["message"]
    assert 0 < int(right.headers["Retry-After"]) <= 15 * 60 + 1
    other = guesser.post("/auth/login", json={"username": "ana", "password": "a guess"})
    assert other.status_code == 401, "other usernames are not affected"


def test_the_sign_in_limit_lifts_after_its_window_and_a_success_resets_it(
    sqlite_url: str,
) -> None:
    engine = create_db_engine(sqlite_url)
    upgrade(engine)
    clock = Clock()
    accounts = Accounts(SqlAccountStore(engine), clock)
    accounts.add_user("cy", "right horse", "front_desk", ["ribe"])
    for _ in range(4):
        assert accounts.login("cy", "a guess", "10.0.0.7") is None
    assert accounts.login("cy", "right horse", "10.0.0.7") is not None  # resets the count
    for _ in range(5):
        assert accounts.login("cy", "a guess", "10.0.0.7") is None
    with pytest.raises(SignInThrottled):
        accounts.login("cy", "right horse", "10.0.0.7")
    assert accounts.login("cy", "right horse", "10.0.0.8") is not None, "per address"
    clock.advance(minutes=15, seconds=1)
    assert accounts.login("cy", "right horse", "10.0.0.7") is not None
    engine.dispose()
