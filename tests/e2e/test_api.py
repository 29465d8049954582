"""The HTTP API end to end, on a real uvicorn server with a real httpx client, on SQLite
and PostgreSQL: the hotel story, retried POSTs, optimistic concurrency and error answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from recovery import Catalog, Recovery
from recovery.domain.state import parse_iso
from recovery.letters import FileMailer
from recovery.service.letter_delivery import deliver_letters
from tests.e2e.test_api_helpers import HOTEL, Api, running_api


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, catalog: Catalog) -> Iterator[Api]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    with running_api(url, catalog) as running:
        yield running


def step(incident_id: str, step_id: str, action: str = "complete") -> str:
    return f"/incidents/{incident_id}/steps/{step_id}/{action}"


# The hotel story as (path suffix, body) pairs after the opening.
STORY: list[tuple[str, dict[str, Any]]] = [
    ("steps/apologise/complete", {"evidence": {"apology_by": "Ana at the front desk"}}),
    (
        "steps/rebook_local/complete",
        {
            "evidence": {
                "hotel": "Hotel Koldingfjord",
                "distance_km": 32,
                "guest_consents_further": True,
            }
        },
    ),
    ("steps/pay_room/complete", {"evidence": {"amount": 180, "reference": "PMS-4711"}}),
    ("steps/dinner/complete", {"evidence": {"amount": 85, "restaurant": "Restaurant Backhaus"}}),
    ("steps/ask_what_else/complete", {"evidence": {"answer": "a late checkout on Sunday"}}),
]


def letter(rec: Recovery) -> list[tuple[str, dict[str, Any]]]:
    """The written follow-up as staff do it over HTTP: draft it (the server draws the
    free-night code), then queue it for the mailer (the server renders the letter)."""
    return [
        ("steps/written_apology/draft", {"evidence": {"body": "We are sorry we let you down."}}),
        ("steps/written_apology/request_send", {"evidence": {"recipient": "mette@example.com"}}),
    ]


def mailer_sends(rec: Recovery, incident_id: str, folder: Path) -> None:
    """The mail worker's pass: the letter is accepted (here by a file mailer), and only
    then is the step recorded as sent."""
    stats = deliver_letters(rec, FileMailer(folder))
    assert stats.sent == 1, stats
    step = rec.get(incident_id).state.steps["written_apology"]
    assert step.status == "sent"
    assert step.evidence["voucher_code"] in next(folder.glob("*.eml")).read_text()


CLOSE = ("close", {"summary": "Rebooked, paid, dinner, letter and certificate sent"})


def test_the_hotel_story_end_to_end(api: Api, tmp_path: Path) -> None:
    desk = api.client("desk")
    opened = desk.post("/incidents", json=HOTEL, headers={"Recovery-Channel": "desk"})
    assert opened.status_code == 201, opened.text
    incident = opened.json()["incident"]
    iid = incident["id"]
    assert opened.headers["ETag"] == '"1"'
    assert opened.headers["Location"] == f"/incidents/{iid}"
    # one request opened all six steps at once
    assert list(incident["steps"]) == [
        "apologise",
        "rebook_local",
        "pay_room",
        "dinner",
        "ask_what_else",
        "written_apology",
    ]
    assert {s["status"] for s in incident["steps"].values()} == {"open"}

    # 32 km away is not local: refused, saying which field and why
    far = desk.post(
        step(iid, "rebook_local"), json={"evidence": {"hotel": "Koldingfjord", "distance_km": 32}}
    )
    assert far.status_code == 422
    assert far.json()["field"] == "evidence.distance_km"
    assert "guest_consents_further" in far.json()["message"]

    for suffix, body in STORY:
        response = desk.post(f"/incidents/{iid}/{suffix}", json=body)
        assert response.status_code == 200, (suffix, response.text)
    # paying 180 needed no manager: the desk's limit is 300
    paid = desk.get(f"/incidents/{iid}").json()["steps"]["pay_room"]
    assert paid["status"] == "done"
    assert paid["approval"] is None

    # cannot close before the written follow-up is sent: the answer says what is allowed
    early = desk.post(f"/incidents/{iid}/close", json={})
    assert early.status_code == 409
    assert early.json()["state"] == "open"
    assert "written_apology.draft" in early.json()["allowed"]
    assert "written_apology" in early.json()["message"]

    for suffix, body in letter(api.rec):
        response = desk.post(f"/incidents/{iid}/{suffix}", json=body)
        assert response.status_code == 200, (suffix, response.text)
    mailer_sends(api.rec, iid, tmp_path)
    closed = desk.post(f"/incidents/{iid}/{CLOSE[0]}", json=CLOSE[1])
    assert closed.status_code == 200, closed.text
    final = desk.get(f"/incidents/{iid}")
    assert final.headers["ETag"] == '"10"'
    assert final.json()["status"] == "closed"
    assert final.json()["pushes"] == 0

    timeline = desk.get(f"/incidents/{iid}/timeline").json()["events"]
    assert [e["seq"] for e in timeline] == list(range(1, 11))
    assert timeline[0]["channel"] == "desk"
    assert {e["actor"] for e in timeline} == {"desk", "mail-worker"}
    assert desk.get(f"/incidents/{iid}/verify").json()["ok"] is True
    replayed = desk.get(f"/incidents/{iid}/replay", params={"seq": 3}).json()["state"]
    assert replayed["steps"]["rebook_local"]["status"] == "done"
    assert replayed["steps"]["pay_room"]["status"] == "open"
    kinds = [d["kind"] for d in desk.get(f"/incidents/{iid}/deliveries").json()["deliveries"]]
    assert kinds[:2] == ["book_room", "post_payment"]


def test_the_hotel_story_with_every_post_retried_records_nothing_twice(
    api: Api, tmp_path: Path
) -> None:
    desk = api.client("desk")
    headers = {"Idempotency-Key": "story-open"}
    first = desk.post("/incidents", json=HOTEL, headers=headers)
    again = desk.post("/incidents", json=HOTEL, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
    iid = first.json()["incident"]["id"]
    steps = [*STORY, *letter(api.rec)]
    for number, (suffix, body) in enumerate(steps):
        headers = {"Idempotency-Key": f"story-{number}"}
        response = desk.post(f"/incidents/{iid}/{suffix}", json=body, headers=headers)
        retried = desk.post(f"/incidents/{iid}/{suffix}", json=body, headers=headers)
        assert response.status_code == 200, response.text
        assert retried.status_code == 200
        assert retried.content == response.content
    mailer_sends(api.rec, iid, tmp_path)
    headers = {"Idempotency-Key": "story-close"}
    for _attempt in range(3):
        assert desk.post(f"/incidents/{iid}/close", json=CLOSE[1], headers=headers).is_success
    events = desk.get(f"/incidents/{iid}/timeline").json()["events"]
    assert len(events) == 1 + len(steps) + 2  # opened, the steps, sent, closed: once each
    listed = desk.get("/incidents", params={"active": False}).json()["items"]
    assert [i["id"] for i in listed] == [iid]  # the retried open opened nothing new
    assert desk.get(f"/incidents/{iid}").json()["status"] == "closed"
    assert desk.get(f"/incidents/{iid}").json()["pushes"] == 0


# ---------------------------------------------------------------------------- idempotency


def test_same_key_with_a_different_body_is_refused(api: Api) -> None:
    desk = api.client("desk")
    iid = api.open()["id"]
    headers = {"Idempotency-Key": "note-1"}
    assert desk.post(f"/incidents/{iid}/notes", json={"text": "one"}, headers=headers).is_success
    other = desk.post(f"/incidents/{iid}/notes", json={"text": "two"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert other.json()["field"] == "header.Idempotency-Key"
    # the same key on another incident is another request too
    iid2 = api.open()["id"]
    assert (
        desk.post(f"/incidents/{iid2}/notes", json={"text": "one"}, headers=headers).status_code
        == 422
    )
    assert len(desk.get(f"/incidents/{iid}/timeline").json()["events"]) == 2


def test_requests_with_one_key_at_once_are_recorded_once(api: Api) -> None:
    iid = api.open()["id"]
    body, headers = {"text": "taxi at 18:30"}, {"Idempotency-Key": "twice-1"}
    replies: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def post() -> None:
        client = api.client("desk")
        barrier.wait()
        replies.append(client.post(f"/incidents/{iid}/notes", json=body, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in replies] == [200] * 4
    assert len({r.content for r in replies}) == 1  # every caller got the first answer
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in replies) == 3
    assert len(api.client("desk").get(f"/incidents/{iid}/timeline").json()["events"]) == 2


def test_keys_are_per_caller_and_a_failed_command_can_be_retried(api: Api) -> None:
    desk, manager = api.client("desk"), api.client("manager")
    iid = api.open()["id"]
    headers = {"Idempotency-Key": "shared-name"}
    assert desk.post(f"/incidents/{iid}/notes", json={"text": "a"}, headers=headers).is_success
    assert manager.post(f"/incidents/{iid}/notes", json={"text": "a"}, headers=headers).is_success
    assert len(desk.get(f"/incidents/{iid}/timeline").json()["events"]) == 3

    bad = {"evidence": {"amount": 450}}
    headers = {"Idempotency-Key": "pay-1"}
    refused = desk.post(step(iid, "pay_room"), json=bad, headers=headers)
    assert refused.status_code == 409  # above the desk's limit: request approval first
    assert "pay_room.request_approval" in refused.json()["allowed"]
    ask = {"amount": 450, "reason": "only a suite was free"}
    assert desk.post(step(iid, "pay_room", "request_approval"), json=ask).is_success
    assert manager.post(step(iid, "pay_room", "grant_approval")).is_success
    # nothing was recorded by the refused attempt, so the same key runs it again now
    retried = desk.post(step(iid, "pay_room"), json=bad, headers=headers)
    assert retried.status_code == 200, retried.text
    assert retried.json()["incident"]["steps"]["pay_room"]["status"] == "done"


# ---------------------------------------------------------------------------- concurrency


def test_if_match_of_an_older_version_is_refused_with_the_current_state(api: Api) -> None:
    desk = api.client("desk")
    iid = api.open()["id"]
    seen = desk.get(f"/incidents/{iid}").headers["ETag"]
    assert desk.post(
        f"/incidents/{iid}/notes", json={"text": "first"}, headers={"If-Match": seen}
    ).is_success
    stale = desk.post(
        step(iid, "apologise"),
        json={"evidence": {"apology_by": "Ana"}},
        headers={"If-Match": seen},
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["error"] == "conflict"
    assert body["current_version"] == 2
    assert body["state"] == "open"
    assert "apologise.complete" in body["allowed"]
    assert body["incident"]["version"] == 2
    assert stale.headers["ETag"] == '"2"'
    assert desk.get(f"/incidents/{iid}", headers={"If-None-Match": '"2"'}).status_code == 304


def test_two_staff_at_the_same_moment_never_lose_an_action(api: Api) -> None:
    iid = api.open()["id"]
    clients = [api.client("desk") for _ in range(6)]
    results: list[httpx.Response] = []
    barrier = threading.Barrier(len(clients))

    def act(client: httpx.Client, number: int) -> None:
        barrier.wait()
        results.append(
            client.post(
                f"/incidents/{iid}/notes",
                json={"text": f"note {number}"},
                headers={"If-Match": '"1"'},
            )
        )

    threads = [threading.Thread(target=act, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [409] * 5
    events = api.client("desk").get(f"/incidents/{iid}/timeline").json()["events"]
    assert len(events) == 2
    # without If-Match every concurrent action is recorded, in some order
    results.clear()
    barrier.reset()

    def note(client: httpx.Client, number: int) -> None:
        barrier.wait()
        results.append(client.post(f"/incidents/{iid}/notes", json={"text": f"more {number}"}))

    threads = [threading.Thread(target=note, args=(c, n)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status_code for r in results) == [200] * 6
    events = api.client("desk").get(f"/incidents/{iid}/timeline").json()["events"]
    assert len(events) == 8
    assert api.client("auditor").get(f"/incidents/{iid}/verify").json()["ok"] is True


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/incidents", {**HOTEL, "customer": {}}, 422, "customer.name"),
        ("/incidents", {**HOTEL, "site": ""}, 422, "site"),
        ("/incidents", {**HOTEL, "incident_type": "hotel.flood"}, 422, "incident_type"),
        ("/incidents", {**HOTEL, "playbook": "no-such"}, 422, "playbook"),
        ("/incidents", {**HOTEL, "colour": "red"}, 422, "colour"),
        ("/incidents", {**HOTEL, "site": "ri\u0000be"}, 422, "site"),
        ("/incidents", {**HOTEL, "site": "vejle"}, 403, "site"),
        ("/incidents", [1, 2], 422, "body"),
        ("{id}/steps/no_step/complete", {}, 422, "step"),
        ("{id}/steps/apologise/complete", {}, 422, "evidence.apology_by"),
        ("{id}/steps/apologise/complete", {"evidence": {"who": "x"}}, 422, "evidence.who"),
        ("{id}/steps/apologise/fly", {}, 409, None),
        ("{id}/steps/Bad-Step/complete", {}, 422, "path.step"),
        ("{id}/steps/pay_room/request_approval", {}, 422, "amount"),
        ("{id}/steps/pay_room/request_approval", {"amount": -5}, 422, "amount"),
        ("{id}/steps/dinner/complete", {"evidence": {"amount": 10**30}}, 422, "evidence.amount"),
        ("{id}/handoffs", {"to": "desk", "context": "short"}, 422, "context"),
        ("{id}/handoffs", {"to": "desk", "context": "the whole story so far"}, 422, "to"),
        (
            "{id}/contacts",
            {"channel": "phone", "direction": "sideways", "summary": "x"},
            422,
            "direction",
        ),
        ("{id}/cues", {"cues": []}, 422, "cues"),
        ("{id}/reopen", {"reason": "x"}, 409, None),
        ("{id}/steps/apologise/waive", {"reason": "x"}, 403, "name"),
        ("/incidents/inc_nope/notes", {"text": "x"}, 404, None),
    ],
)
def test_bad_input_is_a_4xx_that_says_which_field_and_why(
    api: Api, path: str, body: Any, status: int, field: str | None
) -> None:
    desk = api.client("desk")
    if path.startswith("{id}"):
        path = path.replace("{id}", f"/incidents/{api.open()['id']}")
    response = desk.post(path, json=body)
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["message"]
    if field is not None:
        assert payload["field"] == field
    if status == 409:
        assert payload["state"] and payload["allowed"]


@pytest.mark.parametrize(
    ("headers", "field"),
    [
        ({"Idempotency-Key": "with space"}, "header.Idempotency-Key"),
        ({"Idempotency-Key": "k" * 256}, "header.Idempotency-Key"),
        ({"Recovery-Channel": "Front Desk"}, "header.Recovery-Channel"),
        ({"Recovery-Channel": "x" * 65}, "header.Recovery-Channel"),
        ({"If-Match": '"' + "7" * 40 + '"'}, "header.If-Match"),
        ({"If-Match": "v1"}, "header.If-Match"),
    ],
)
def test_a_bad_command_header_is_refused_by_name_and_records_nothing(
    api: Api, headers: dict[str, str], field: str
) -> None:
    desk = api.client("desk")
    incident = api.open()
    response = desk.post(f"/incidents/{incident['id']}/notes", json={"text": "x"}, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert desk.get(f"/incidents/{incident['id']}").json()["version"] == incident["version"]


def test_a_command_names_its_channel_and_every_command_documents_its_headers(
    api: Api,
) -> None:
    desk = api.client("desk")
    iid = api.open()["id"]
    desk.post(f"/incidents/{iid}/notes", json={"text": "x"}, headers={"Recovery-Channel": "phone"})
    assert desk.get(f"/incidents/{iid}/timeline").json()["events"][-1]["channel"] == "phone"

    document = desk.get("/openapi.json").json()
    for path, operations in document["paths"].items():
        post = operations.get("post")
        if not path.startswith("/incidents") or post is None:
            continue
        headers = {p["name"] for p in post["parameters"] if p["in"] == "header"}
        expected = {"Idempotency-Key", "Recovery-Channel"} | (
            {"If-Match"} if "{" in path else set()
        )
        if path == "/incidents/{incident_id}/status-links":
            expected = {"If-Match"}  # makes a link and records no event: nothing to key
        assert headers == expected, path
        assert post["security"] == [{"HTTPBearer": []}, {"APIKeyCookie": []}], path


def test_malformed_requests_are_4xx_not_500(api: Api) -> None:
    desk = api.client("desk")
    iid = api.open()["id"]
    raw = desk.post(
        f"/incidents/{iid}/notes",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert raw.status_code == 422
    assert raw.json()["field"] == "body"
    binary = desk.post(
        f"/incidents/{iid}/notes",
        content=b"\xff\xfe\x00",
        headers={"Content-Type": "application/json"},
    )
    assert binary.status_code == 422
    bad_match = desk.post(f"/incidents/{iid}/notes", json={"text": "x"}, headers={"If-Match": "v1"})
    assert bad_match.status_code == 422
    assert bad_match.json()["field"] == "header.If-Match"
    assert desk.get("/incidents", params={"limit": 10**12}).status_code == 422
    assert desk.get(f"/incidents/{iid}/replay", params={"at": "yesterday"}).status_code == 422
    early = desk.get(f"/incidents/{iid}/replay", params={"at": "2001-01-01T00:00:00Z"})
    assert early.status_code == 422
    assert early.json()["field"] == "query.at"
    assert desk.get("/nowhere").json()["error"] == "not_found"
    moment = parse_iso(desk.get(f"/incidents/{iid}").json()["opened_at"])
    at = desk.get(f"/incidents/{iid}/replay", params={"at": moment.isoformat()})
    assert at.status_code == 200
    assert at.json()["state"]["version"] == 1


DOCUMENTED_STORY = [
    ("apologise", "complete", "apologise"),
    ("rebook_local", "complete", "rebook_far_with_consent"),
    ("pay_room", "complete", "pay_room"),
    ("dinner", "complete", "dinner"),
    ("ask_what_else", "complete", "ask_what_else"),
    ("written_apology", "draft", "written_apology_draft"),
    ("written_apology", "request_send", "written_apology_request_send"),
]


def test_the_hotel_story_runs_as_copied_from_the_openapi_examples(api: Api) -> None:
    desk = api.client("desk")
    paths = desk.get("/openapi.json").json()["paths"]

    def examples(path: str) -> dict[str, Any]:
        found: dict[str, Any] = paths[path]["post"]["requestBody"]["content"]["application/json"][
            "examples"
        ]
        return found

    opened = desk.post("/incidents", json=examples("/incidents")["walked_guest"]["value"])
    assert opened.status_code == 201, opened.text
    iid = opened.json()["incident"]["id"]
    steps = examples("/incidents/{incident_id}/steps/{step}/{action}")
    for step_id, action, example in DOCUMENTED_STORY:
        response = desk.post(step(iid, step_id, action), json=steps[example]["value"])
        assert response.status_code == 200, (example, response.text)
    assert desk.get(f"/incidents/{iid}").json()["pending_for_close"] == ["written_apology"]


def test_the_old_way_shows_in_the_report_as_pushes_and_a_worse_score(api: Api) -> None:
    desk, old_desk = api.client("desk"), api.client("desk_vejle")
    bundle = api.open()["id"]
    for suffix, body in STORY:
        assert desk.post(f"/incidents/{bundle}/{suffix}", json=body).is_success
    old = api.open("desk_vejle", site="vejle")["id"]
    for (suffix, body), asked in zip(
        STORY, ["sorry", "a room", "payment", "dinner", "help"], strict=True
    ):
        step_id = suffix.split("/")[1]
        push = {"asked_for": asked, "step": step_id}
        assert old_desk.post(f"/incidents/{old}/pushes", json=push).is_success
        assert old_desk.post(f"/incidents/{old}/{suffix}", json=body).is_success

    rows = {
        r["group"]: r
        for r in api.client("auditor")
        .get("/reports/recovery", params={"by": "site"})
        .json()["rows"]
    }
    assert rows["ribe"]["pushes_per_incident"] == 0
    assert rows["vejle"]["pushes_per_incident"] == 5
    assert rows["vejle"]["recovery_score"] < rows["ribe"]["recovery_score"]
    manager = api.client("manager").get("/reports/recovery", params={"by": "site"}).json()
    assert [r["group"] for r in manager["rows"]] == ["ribe"]  # its own property only
    assert desk.get("/reports/recovery").status_code == 403


def test_duplicates_with_one_key_and_if_match_all_get_the_first_answer(api: Api) -> None:
    iid = api.open()["id"]
    headers = {"Idempotency-Key": "precise-1", "If-Match": '"1"'}
    replies: list[httpx.Response] = []
    barrier = threading.Barrier(3)

    def post() -> None:
        client = api.client("desk")
        barrier.wait()
        replies.append(client.post(f"/incidents/{iid}/notes", json={"text": "x"}, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # the later ones find the incident past version 1, but their key was answered already
    assert [r.status_code for r in replies] == [200] * 3
    assert len({r.content for r in replies}) == 1
    assert len(api.client("desk").get(f"/incidents/{iid}/timeline").json()["events"]) == 2


def test_incidents_are_listed_in_pages_with_a_next_cursor(api: Api) -> None:
    desk = api.client("desk")
    for _ in range(5):
        assert desk.post("/incidents", json=HOTEL).status_code == 201
    whole = [i["id"] for i in desk.get("/incidents", params={"limit": 200}).json()["items"]]
    assert len(whole) == 5
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = desk.get("/incidents", params=params).json()
        seen += [i["id"] for i in page["items"]]
        if page["next"] is None:
            break
        params["after"] = page["next"]
    assert seen == whole
    bad = desk.get("/incidents", params={"after": "not-a-cursor"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "query.after"
