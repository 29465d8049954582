"""Refusals in plain words: role titles, step titles and evidence labels instead of codes,
with what the caller's role may do now; the API keeps its machine fields beside them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from recovery import Catalog
from tests.e2e.test_api_helpers import Api, running_api
from tests.e2e.test_web_helpers import HOTEL_FORM, Site, running_site, text_of

CODES = re.compile(r"\b(front_desk|request_approval|grant_approval|distance_km|pay_room)\b")


@pytest.fixture
def api(sqlite_url: str, catalog: Catalog) -> Iterator[Api]:
    with running_api(sqlite_url, catalog) as running:
        yield running


@pytest.fixture
def site(sqlite_url: str, catalog: Catalog, tmp_path: object) -> Iterator[Site]:
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:  # type: ignore[operator]
        yield running


def test_api_problem_keeps_codes_and_gains_plain_words(api: Api) -> None:
    incident = api.open()
    desk = api.client("desk")
    over = desk.post(
        f"/incidents/{incident['id']}/steps/pay_room/complete",
        json={"evidence": {"amount": 450, "reference": "P1"}},
    )
    assert over.status_code == 409
    body = over.json()
    assert body["error"] == "not_allowed_now"
    assert "pay_room.request_approval" in body["allowed"]  # machine fields as before
    assert body["plain"].startswith("450 EUR is above the front desk's limit of 300 EUR")
    assert "ask a manager to approve “Insist on paying for the replacement room”" in body["plain"]
    assert not CODES.search(body["plain"]), body["plain"]

    far = desk.post(
        f"/incidents/{incident['id']}/steps/rebook_local/complete",
        json={"evidence": {"hotel": "Koldingfjord", "distance_km": 32}},
    )
    assert far.json()["field"] == "evidence.distance_km"
    assert far.json()["plain"].startswith("Distance from this hotel (km): 32 is above")
    assert not CODES.search(far.json()["plain"])

    waive = desk.post(f"/incidents/{incident['id']}/steps/dinner/waive", json={"reason": "no time"})
    assert waive.status_code == 403
    assert waive.json()["plain"] == "Only a manager may waive a step; the front desk may not."


def test_a_step_refusal_lists_only_what_the_role_may_do(api: Api) -> None:
    incident = api.open()
    desk = api.client("desk")
    url = f"/incidents/{incident['id']}/steps/apologise"
    assert desk.post(f"{url}/complete", json={"evidence": {"apology_by": "Ana"}}).is_success
    again = desk.post(f"{url}/complete", json={"evidence": {"apology_by": "Ana"}})
    assert again.status_code == 409
    body = again.json()
    assert body["plain"].startswith("“Apologise and mean it” is done, so you cannot mark it done")
    assert not [a for a in body["allowed"] if a.endswith((".waive", ".grant_approval"))]
    manager = api.client("manager").post(f"{url}/complete", json={"evidence": {"apology_by": "M"}})
    assert any(a.endswith(".waive") for a in manager.json()["allowed"])


def test_the_web_refusal_offers_the_desk_no_manager_actions(site: Site) -> None:
    desk = site.signed_in("ana")
    desk.get("/web/incidents/new")
    incident_id = desk.post("/web/incidents/new", data=HOTEL_FORM).headers["location"]
    incident_id = str(incident_id).rsplit("/", 1)[1]
    desk.get(f"/web/incidents/{incident_id}")
    refused = desk.post(
        f"/web/incidents/{incident_id}/steps/pay_room/complete",
        {"ev.amount": "450", "ev.reference": "P2"},
    )
    assert refused.status_code == 409
    problem = re.search(r'<section class="problem".*?</section>', refused.text, re.S)
    assert problem is not None
    said = text_of(problem[0])
    assert "front desk's limit" in said
    assert "insist on paying for the replacement room: ask a manager to approve" in said.lower()
    assert not re.search(r"\b(waive|approve:|decline)\b", said, re.I), said
    assert not CODES.search(said), said
