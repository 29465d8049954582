"""A back office manages its webhook endpoints over HTTP, against a real server and a real
receiver: register, signature with the new and the rotated secret, the delivery log, a
redelivery, scoping between two integrations, and the refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from recovery import Catalog
from recovery.bootstrap import services
from recovery.delivery import SIGNATURE_HEADER, DeliveryStats, deliver_due, verify_signature
from recovery.delivery.testing import WebhookReceiver
from recovery.service.webhooks import MAX_PER_OWNER
from tests.contract.test_delivery import open_loyal_guest
from tests.e2e.test_api_helpers import Api, running_api

CRM_TOKEN = "crm"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    db = tmp_path_factory.mktemp("webhooks") / "recovery.db"
    catalog = Catalog.from_directory(Path(__file__).resolve().parents[2] / "playbooks")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RECOVERY_WEBHOOK_PRIVATE_HOSTS", "true")  # the receivers are local
        with running_api(f"sqlite:///{db}", catalog) as running:
            # a second back office, with its own token (the server reads the same database)
            _row, secret = services(running.rec).accounts.create_token(
                CRM_TOKEN, "integration", ["ribe", "vejle"]
            )
            running.tokens[CRM_TOKEN] = secret
            yield running


def work(api: Api) -> DeliveryStats:
    """One pass of the webhook worker over the server's database."""
    storage = api.rec.storage
    return deliver_due(storage.outbox, [], endpoints=storage.webhooks)


def test_a_back_office_registers_verifies_reads_the_log_and_asks_for_a_redelivery(
    api: Api,
) -> None:
    pms = api.client("pms")
    with WebhookReceiver("not yet known") as hooks:
        made = pms.post("/webhooks/endpoints", json={"url": hooks.url, "kinds": ["notify"]})
        assert made.status_code == 201, made.text
        endpoint = made.json()
        assert endpoint["sites"] == ["ribe"] and endpoint["kinds"] == ["notify"]
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")
        hooks.secret = secret
        shown = pms.get(f"/webhooks/endpoints/{endpoint['id']}").json()
        assert "secret" not in shown and shown["url"] == hooks.url
        assert all("secret" not in e for e in pms.get("/webhooks/endpoints").json()["items"])

        incident = open_loyal_guest(api.rec)  # two notify effects
        assert work(api).delivered >= 2
        arrived = [r for r in hooks.accepted() if r.json()["incident_id"] == incident]
        assert len(arrived) == 2
        for request in arrived:
            assert verify_signature(request.body, secret, request.header(SIGNATURE_HEADER))

        log = pms.get(f"/webhooks/endpoints/{endpoint['id']}/deliveries").json()
        assert [(a["kind"], a["status_code"], a["ok"]) for a in log["items"]] == [
            ("notify", 200, True),
            ("notify", 200, True),
        ]
        assert log["next_before"] is None
        page = pms.get(f"/webhooks/endpoints/{endpoint['id']}/deliveries", params={"limit": 1})
        assert page.json()["next_before"] == page.json()["items"][0]["id"]

        rotated = pms.post(f"/webhooks/endpoints/{endpoint['id']}/rotate-secret")
        assert rotated.status_code == 200, rotated.text
        new_secret = rotated.json()["secret"]
        assert new_secret != secret and rotated.json()["previous_secret_valid_until"]
        hooks.secret = new_secret
        later = open_loyal_guest(api.rec, "Another Guest")
        work(api)
        fresh = [r for r in hooks.accepted() if r.json()["incident_id"] == later]
        assert len(fresh) == 2
        for request in fresh:
            header = request.header(SIGNATURE_HEADER)
            assert verify_signature(request.body, new_secret, header)
            assert verify_signature(request.body, secret, header), "grace period: both sign"

        message = arrived[0].json()["delivery_id"]
        again = pms.post(
            f"/webhooks/endpoints/{endpoint['id']}/redeliver", params={"message": message}
        )
        assert again.status_code == 202, again.text
        assert work(api).delivered == 1
        assert [r.json()["delivery_id"] for r in hooks.accepted()].count(message) == 2
        newest = pms.get(f"/webhooks/endpoints/{endpoint['id']}/deliveries").json()["items"][0]
        assert (newest["message_id"], newest["attempt"], newest["ok"]) == (message, 2, True)

        gone = pms.delete(f"/webhooks/endpoints/{endpoint['id']}")
        assert gone.status_code == 200 and gone.json()["deleted_at"]
        before = len(hooks.requests)
        open_loyal_guest(api.rec, "After Deletion")
        work(api)
        assert len(hooks.requests) == before


def test_an_integration_sees_only_its_own_endpoints_an_admin_all(api: Api) -> None:
    pms, crm, admin = api.client("pms"), api.client(CRM_TOKEN), api.client("admin")
    mine = pms.post("/webhooks/endpoints", json={"url": "https://pms.example/a"}).json()
    theirs = crm.post("/webhooks/endpoints", json={"url": "https://crm.example/b"}).json()
    assert theirs["sites"] == ["ribe", "vejle"]
    listed = {e["id"] for e in crm.get("/webhooks/endpoints").json()["items"]}
    assert theirs["id"] in listed and mine["id"] not in listed
    everyone = {e["id"] for e in admin.get("/webhooks/endpoints").json()["items"]}
    assert {mine["id"], theirs["id"]} <= everyone
    base = f"/webhooks/endpoints/{mine['id']}"
    for method, path, params in [
        ("GET", base, {}),
        ("DELETE", base, {}),
        ("POST", f"{base}/rotate-secret", {}),
        ("GET", f"{base}/deliveries", {}),
        ("POST", f"{base}/redeliver", {"message": 1}),
    ]:
        response = crm.request(method, path, params=params)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"] == "not_found"
    assert pms.get(base).status_code == 200, "untouched by the other's attempts"
    assert admin.delete(f"/webhooks/endpoints/{theirs['id']}").status_code == 200
    assert desk_may_not(api)


def desk_may_not(api: Api) -> bool:
    refused = api.client("desk").get("/webhooks/endpoints")
    assert refused.status_code == 403
    assert "webhook" in refused.json()["message"]
    return True


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"url": "ftp://pms.example/x"}, "url", "http:// or https://"),
        ({"url": "https://pms.example/" + "x" * 2000}, "url", "2000"),
        ({"url": "https://pms.example/", "kinds": ["book_rom"]}, "kinds[0]", "book_rom"),
        ({"url": "https://pms.example/", "sites": ["vejle"]}, "sites[0]", "not one of your"),
        ({"url": "https://pms.example/", "secret": "mine"}, "secret", "not allowed"),
        ({}, "url", "required"),
    ],
)
def test_bad_registrations_are_refused_naming_the_field(
    api: Api, body: dict[str, object], field: str, words: str
) -> None:
    response = api.client("pms").post("/webhooks/endpoints", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["field"] == field and words in problem["message"]
    if field == "kinds[0]":
        assert "book_room" in problem["allowed"]


def test_the_number_of_endpoints_per_integration_is_bounded(api: Api) -> None:
    crm = api.client(CRM_TOKEN)
    have = len(crm.get("/webhooks/endpoints").json()["items"])
    for n in range(MAX_PER_OWNER - have):
        assert crm.post("/webhooks/endpoints", json={"url": f"https://crm.example/{n}"}).is_success
    refused = crm.post("/webhooks/endpoints", json={"url": "https://crm.example/more"})
    assert refused.status_code == 422 and "delete one first" in refused.json()["message"]
    assert api.client("pms").get("/webhooks/endpoints/not-an-id").status_code == 422
    assert (
        api.client("pms")
        .get("/webhooks/endpoints/we_0123456789abcdef/deliveries", params={"limit": 1000})
        .status_code
        == 422
    )
