"""Every route of the JSON API declares its response model, and what the server really sends
for the hotel story (rendered by orjson, never by those models) is exactly what the model,
and so the OpenAPI document, says: no key missing, none undocumented, every type right."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.routing import BaseRoute

from recovery import Catalog
from recovery.delivery.endpoints import Attempt
from recovery.domain.events import PAYLOADS
from recovery.http import create_app
from recovery.http.api.schemas import ErrorRead
from recovery.letters import FileMailer
from recovery.service.letter_delivery import deliver_letters
from tests.e2e.test_api_helpers import HOTEL, Api, running_api


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, catalog: Catalog) -> Iterator[Api]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    with running_api(url, catalog) as running:
        yield running


class Recorder:
    """Keeps every response the clients receive, to check them all at the end."""

    def __init__(self) -> None:
        self.responses: list[httpx.Response] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append(response)


def api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # newer FastAPI includes routers lazily
            yield from api_routes(route.original_router.routes)


def route_of(routes: list[APIRoute], response: httpx.Response) -> APIRoute:
    path, method = response.request.url.path, response.request.method
    for route in routes:
        if method in route.methods and route.path_regex.match(path):
            return route
    raise AssertionError(f"no route for {method} {path}")


def play_the_hotel_story(api: Api, record: Recorder, mail_dir: Path) -> None:
    hooks = {"response": [record]}
    desk = api.client("desk", event_hooks=hooks)
    manager = api.client("manager", event_hooks=hooks)
    auditor = api.client("auditor", event_hooks=hooks)
    admin = api.client("admin", event_hooks=hooks)
    anyone = api.client(event_hooks=hooks)
    paths = desk.get("/openapi.json").json()["paths"]

    def example(path: str, name: str | None = None) -> Any:
        examples = paths[path]["post"]["requestBody"]["content"]["application/json"]["examples"]
        return examples[name or next(iter(examples))]["value"]

    def ok(response: httpx.Response) -> Any:
        assert response.is_success, (response.request.url, response.text)
        return response.json() if response.content else None

    def step(who: httpx.Client, incident: str, step_id: str, action: str, name: str) -> None:
        body = example("/incidents/{incident_id}/steps/{step}/{action}", name)
        ok(who.post(f"/incidents/{incident}/steps/{step_id}/{action}", json=body))

    def command(who: httpx.Client, incident: str, what: str) -> None:
        body = example(f"/incidents/{{incident_id}}/{what}")
        ok(who.post(f"/incidents/{incident}/{what}", json=body))

    opened = ok(desk.post("/incidents", json=HOTEL, headers={"Recovery-Channel": "desk"}))
    iid = opened["incident"]["id"]
    step(desk, iid, "apologise", "complete", "apologise")
    step(desk, iid, "rebook_local", "complete", "rebook_far_with_consent")
    step(desk, iid, "pay_room", "request_approval", "request_approval")
    step(manager, iid, "pay_room", "grant_approval", "grant_approval")
    for what in ("pushes", "contacts", "notes", "cues", "escalate", "handoffs", "hold", "resume"):
        command(manager, iid, what)
    step(manager, iid, "dinner", "waive", "waive")
    paid = {"evidence": {"amount": 450, "reference": "PMS-4711"}}
    ok(manager.post(f"/incidents/{iid}/steps/pay_room/complete", json=paid))
    step(manager, iid, "ask_what_else", "complete", "ask_what_else")
    step(manager, iid, "written_apology", "draft", "written_apology_draft")
    step(manager, iid, "written_apology", "request_send", "written_apology_request_send")
    assert deliver_letters(api.rec, FileMailer(mail_dir)).sent == 1
    called = {"evidence": {"outcome": "a free night in August"}}  # added by the cues
    ok(manager.post(f"/incidents/{iid}/steps/manager_call/complete", json=called))
    for what in ("close", "reopen", "release"):
        command(manager, iid, what)

    other = api.open()["id"]
    step(desk, other, "pay_room", "request_approval", "request_approval")
    step(manager, other, "pay_room", "deny_approval", "deny_approval")

    for reader in (desk, auditor):
        ok(reader.get("/incidents", params={"active": False}))
        ok(reader.get(f"/incidents/{iid}"))
        ok(reader.get(f"/incidents/{iid}/timeline"))
        ok(reader.get(f"/incidents/{iid}/replay", params={"seq": 3}))
        ok(reader.get(f"/incidents/{iid}/replay", params={"at": "2100-01-01T00:00:00Z"}))
        ok(reader.get(f"/incidents/{iid}/verify"))
        ok(reader.get(f"/incidents/{iid}/deliveries"))
    links = f"/incidents/{iid}/status-links"
    made = ok(desk.post(links))
    ok(desk.post(f"{links}/send", json={"via": "sms", "recipient": "+45 20 30 40 50"}))
    ok(desk.get(links))
    ok(desk.delete(f"{links}/{made['id']}"))
    ok(desk.get(f"/incidents/{iid}/score"))
    ok(desk.get("/customers/mette@example.com"))
    ok(desk.get(f"/incidents/{iid}/letters/written_apology/preview"))
    for playbook in ok(desk.get("/playbooks")):
        ok(desk.get(f"/playbooks/{playbook['id']}"))
    for by in ("site", "playbook", "site_playbook", "all"):
        ok(manager.get("/reports/recovery", params={"by": by}))
    ok(desk.get("/health"))
    ok(anyone.get("/ready"))

    person = {"username": "ana", "password": "correct horse", "role": "front_desk"}
    ok(admin.post("/admin/users", json={**person, "sites": ["ribe"]}))
    ok(admin.get("/admin/users"))
    ok(admin.post("/admin/users/ana/disable"))
    ok(admin.post("/admin/users/ana/enable"))
    token = {"name": "pms-ribe", "role": "integration", "sites": ["ribe"]}
    ok(admin.post("/admin/tokens", json=token))
    ok(admin.get("/admin/tokens"))
    ok(admin.post("/admin/tokens/pms-ribe/revoke"))
    hook = ok(admin.post("/webhooks/endpoints", json={"url": "https://pms.example/hooks"}))
    ok(admin.get("/webhooks/endpoints"))
    ok(admin.get(f"/webhooks/endpoints/{hook['id']}"))
    ok(admin.post(f"/webhooks/endpoints/{hook['id']}/rotate-secret"))
    api.rec.storage.webhooks.log(  # as the worker does after a request to it
        [Attempt(hook["id"], 1, 1, 200, None, 12, api.rec.clock())]
    )
    ok(admin.get(f"/webhooks/endpoints/{hook['id']}/deliveries"))
    ok(admin.post(f"/webhooks/endpoints/{hook['id']}/redeliver", params={"message": 1}))
    ok(admin.delete(f"/webhooks/endpoints/{hook['id']}"))
    ok(admin.get("/customers/mette@example.com/export"))
    ok(admin.post("/customers/mette@example.com/erase", json={"reason": "asked by e-mail"}))
    session = ok(anyone.post("/auth/login", json={"username": "ana", "password": "correct horse"}))
    signed_in = {"Authorization": f"Bearer {session['token']}"}
    ok(anyone.get("/auth/me", headers=signed_in))
    ok(desk.get("/auth/me"))
    ok(anyone.post("/auth/logout", headers=signed_in))

    # and refusals, which all have the one error shape
    anyone.get("/incidents")
    auditor.post(f"/incidents/{iid}/notes", json={"text": "x"})
    desk.get("/incidents/inc_nope")
    desk.post(f"/incidents/{other}/notes", json={"text": "x"}, headers={"If-Match": '"1"'})
    desk.post(f"/incidents/{other}/close", json={})
    desk.post(f"/incidents/{other}/notes", json={"words": "x"})


def test_every_response_of_the_hotel_story_is_exactly_its_declared_model(
    api: Api, tmp_path: Path
) -> None:
    record = Recorder()
    play_the_hotel_story(api, record, tmp_path)

    app = create_app(api.rec)
    documented = app.openapi()["paths"]
    routes = [r for r in api_routes(app.routes) if r.path in documented]
    undeclared = [r.path for r in routes if r.response_model is None and r.status_code != 204]
    assert undeclared == [], "every route declares its response model"

    checked: set[str] = set()
    refusals = 0
    for response in record.responses:
        if response.request.url.path == "/openapi.json":
            continue
        route = route_of(routes, response)
        if response.status_code >= 400:
            ErrorRead.model_validate_json(response.content, strict=True)
            refusals += 1
            continue
        assert response.status_code == (route.status_code or 200), route.path
        if route.status_code == 204:
            assert response.content == b""
        else:
            TypeAdapter(route.response_model).validate_json(response.content, strict=True)
        checked.add(f"{sorted(route.methods)[0]} {route.path}")

    declared = {f"{method.upper()} {path}" for path, ops in documented.items() for method in ops}
    assert declared - checked == set(), "the story reaches every documented route"
    assert refusals == 6


def test_the_openapi_document_forbids_keys_the_server_does_not_send(api: Api) -> None:
    document = api.client("desk").get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert schemas["StepRead"]["properties"]["missed"]["type"] == "boolean"
    for name in ("IncidentRead", "StepRead", "OutcomeRead", "UserRead"):
        assert schemas[name]["additionalProperties"] is False, name
    # an event is documented per type: its fields, and its type's payload as `data`
    for event_type, payload in PAYLOADS.items():
        event = schemas[f"{payload.__name__}EventRead"]
        assert event["additionalProperties"] is False, event_type
        assert event["properties"]["type"]["const"] == event_type
        assert event["properties"]["data"] == {"$ref": f"#/components/schemas/{payload.__name__}"}
        assert schemas[payload.__name__]["additionalProperties"] is False, payload.__name__
    operation = document["paths"]["/incidents/{incident_id}/notes"]["post"]
    documented = operation["responses"]["200"]
    assert documented["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OutcomeRead"
    }
    assert "ETag" in documented["headers"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", document["info"]["version"])
