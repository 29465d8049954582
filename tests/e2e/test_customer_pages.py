"""The customer's status page is honest in every state a shipped playbook can reach: every
step is driven through the engine (done, approved, drafted, sending, sent, waived, denied;
the incident escalated, handed off, closed, released), and after each move the page, in
English, Danish and Indonesian, tells as done exactly the steps that are done, promises
only what is still to do, and shows no staff name, note, reason or evidence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from recovery import Actor, Catalog, Recovery
from recovery.domain.commands import CustomerProfile, OpenIncident
from recovery.domain.compiler import CompiledPlaybook
from recovery.domain.playbook import EvidenceField, StepDef
from recovery.domain.queries import resolved_states
from recovery.http.web.i18n import step_text, words
from recovery.letters import FileMailer
from recovery.service.letter_delivery import deliver_letters
from tests.e2e.test_api_helpers import Api, running_api
from tests.e2e.test_web_helpers import HOTEL_FORM, running_site, text_of

# Staff and their words: none of this may reach the customer's page.
BOSS = Actor(id="quinnboss", role="manager")
SECRETS = (
    "quinnboss",
    "ygrittestaff",
    "NOTESECRET",
    "WAIVESECRET",
    "EVIDSECRET",
    "HANDOFFSECRET",
    "ESCALATESECRET",
    "RELEASESECRET",
    "INTERNALSUMMARY",
)
LOCALES = ("en", "da", "id")


@pytest.fixture
def api(catalog: Catalog, sqlite_url: str) -> Iterator[Api]:
    with running_api(sqlite_url, catalog) as running:
        yield running


def send_link(api: Api, incident_id: str, mail_dir: Path) -> str:
    """The back office sends the customer their link by e-mail; the token it carries."""
    response = api.client("pms").post(
        f"/incidents/{incident_id}/status-links/send", json={"via": "email"}
    )
    assert response.status_code == 201, response.text
    url = response.json()["link"]["url"]
    assert url.startswith(f"{api.base_url}/status/")
    (mail,) = [p for p in mail_dir.glob("status-link-*.eml") if url in p.read_text()]
    assert "guest@example.com" in mail.read_text()
    mail.unlink()
    return str(url).rsplit("/", 1)[1]


def evidence_for(fields: list[EvidenceField]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields:
        if f.type == "text":
            values[f.name] = f"EVIDSECRET {f.name}"
        elif f.type in ("number", "money"):
            values[f.name] = min(f.max if f.max is not None else 10, 10)
        elif f.type == "bool":
            values[f.name] = False
        elif f.type == "choice":
            values[f.name] = (f.choices or [""])[0]
        elif f.type == "date":
            values[f.name] = "2026-07-01"
    return values


def open_everything(rec: Recovery, compiled: CompiledPlaybook) -> str:
    """An incident of this playbook with every cue rule fired (every tier step open)."""
    playbook = compiled.playbook
    cues = sorted({c for r in playbook.cue_rules for c in (r.when.cues_any or [])})
    segments = [s for r in playbook.cue_rules for s in (r.when.segment_in or [])]
    command = OpenIncident(
        incident_type=playbook.incident_types[0],
        site="ribe",
        customer=CustomerProfile(
            name="Guest Person",
            contact="guest@example.com",
            member_since=date(2010, 1, 1),
            order_value=1_000_000,
            segment=segments[0] if segments else None,
            language="da",
        ),
        cues=cues,
        summary="INTERNALSUMMARY the desk's own words",
    )
    return rec.open(command, actor=BOSS).id


def check_page(api: Api, token: str, rec: Recovery, incident_id: str) -> None:
    state = rec.get(incident_id).state
    compiled = rec.playbook_of(state)
    resolved = resolved_states(compiled)
    client = api.client()
    for locale in LOCALES:
        response = client.get(f"/status/{token}?lang={locale}")
        assert response.status_code == 200
        page = text_of(response.text)
        where = f"{compiled.playbook.id} {state.status} {locale}"
        any_done = False
        for step in state.steps.values():
            definition: StepDef = compiled.steps[step.id]
            done = step.status in resolved[step.kind] and step.status != "waived"
            any_done = any_done or done
            past = step_text(definition, locale, done=True)
            future = step_text(definition, locale, done=False)
            if past:
                assert (past in page) == done, (where, step.id, step.status, past)
            promised = (
                step.status not in resolved[step.kind]
                and step.required
                and state.status in ("open", "escalated")
            )
            if future:
                assert (future in page) == promised, (where, step.id, step.status, future)
        assert (words(locale)["nothing_done"] in page) == (not any_done), where
        for secret in SECRETS:
            assert secret.lower() not in page.lower(), (where, secret)


Move = Callable[[], Any]


def moves_through(
    rec: Recovery, mailer: Callable[[], None], incident_id: str, step: StepDef
) -> list[Move]:
    """Every state of the step's lifecycle on the way to done."""
    evidence = evidence_for(step.evidence)
    act = rec.act_on_step
    if step.kind == "compensation":
        amount = float(evidence[step.amount_field])
        return [
            lambda: rec.request_approval(incident_id, step.id, amount, actor=BOSS),
            lambda: rec.grant_approval(incident_id, step.id, actor=BOSS),
            lambda: rec.complete_step(incident_id, step.id, evidence, actor=BOSS),
        ]
    if step.kind == "written":
        return [
            lambda: act(incident_id, step.id, "draft", actor=BOSS),
            lambda: act(incident_id, step.id, "request_send", actor=BOSS),
            mailer,
        ]
    return [lambda: rec.complete_step(incident_id, step.id, evidence, actor=BOSS)]


@pytest.mark.parametrize(
    "playbook_id",
    [
        "hotel-walked-guest",
        "complaint-written-answer",
        "loyal-customer-at-risk",
        "pass-change-bounced",
        "telecom-billing-error",
    ],
)
def test_the_customer_page_claims_nothing_that_did_not_happen(
    api: Api, catalog: Catalog, playbook_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mail_dir = tmp_path / "mail"
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(mail_dir))
    rec = api.rec
    compiled = catalog.get(playbook_id)

    def mailer() -> None:
        deliver_letters(rec, FileMailer(mail_dir))

    # Every step on its way to done, the incident escalated and handed off on the way.
    done_way = open_everything(rec, compiled)
    token = send_link(api, done_way, mail_dir)
    check_page(api, token, rec, done_way)
    rec.add_note(done_way, "NOTESECRET about the guest", actor=BOSS)
    rec.escalate(done_way, "ESCALATESECRET", actor=BOSS)
    rec.hand_off(done_way, "ygrittestaff", "HANDOFFSECRET the whole story", actor=BOSS)
    check_page(api, token, rec, done_way)
    for locale in LOCALES:  # the customer is told of the new owner, never who it is
        page = text_of(api.client().get(f"/status/{token}?lang={locale}").text)
        assert words(locale)["new_owner"] in page, locale
    for step in rec.get(done_way).state.steps.values():
        for move in moves_through(rec, mailer, done_way, compiled.steps[step.id]):
            move()
            check_page(api, token, rec, done_way)
    rec.close(done_way, actor=BOSS)
    check_page(api, token, rec, done_way)

    # Every step declined on the way: approvals denied, then waived; then released.
    waived_way = open_everything(rec, compiled)
    token = send_link(api, waived_way, mail_dir)
    for step in rec.get(waived_way).state.steps.values():
        if step.kind == "compensation":
            rec.request_approval(waived_way, step.id, 10, actor=BOSS)
            check_page(api, token, rec, waived_way)
            rec.deny_approval(waived_way, step.id, ["WAIVESECRET instead"], actor=BOSS)
            check_page(api, token, rec, waived_way)
        rec.waive_step(waived_way, step.id, "WAIVESECRET not needed", actor=BOSS)
        check_page(api, token, rec, waived_way)
    rec.release(waived_way, "RELEASESECRET", "Another operator can help", actor=BOSS)
    check_page(api, token, rec, waived_way)


def test_a_back_office_manages_and_sends_status_links(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(tmp_path / "mail"))
    pms = api.client("pms")
    incident = api.open(
        "desk",
        customer={"name": "Mette Jensen", "contact": "mette@example.com", "language": "id"},
    )["id"]
    base = f"/incidents/{incident}/status-links"

    made = pms.post(base)
    assert made.status_code == 201
    first = made.json()
    assert api.client().get(f"/status/{first['token']}").status_code == 200

    by_sms = pms.post(f"{base}/send", json={"via": "sms", "recipient": "+45 20 30 40 50"})
    assert by_sms.status_code == 201, by_sms.text
    sms_link = by_sms.json()["link"]
    event = by_sms.json()["outcome"]["event"]
    assert event["type"] == "status_link_sent" and event["data"]["via"] == "sms"
    assert sms_link["token"] not in str(event["data"].get("link"))
    (message,) = [m for m in api.rec.outbox(incident) if m["kind"] == "notify_customer"]
    assert sms_link["url"] in str(message["payload"]) and "+45 20 30 40 50" in str(message)

    retried = {"Idempotency-Key": "send-mail-1"}
    by_mail = pms.post(f"{base}/send", json={}, headers=retried)
    assert by_mail.status_code == 201, by_mail.text
    again = pms.post(f"{base}/send", json={}, headers=retried)
    assert again.json() == by_mail.json(), "a retried send sends nothing twice"
    assert by_mail.json()["outcome"]["event"]["data"]["recipient"] == "mette@example.com"
    assert by_mail.json()["outcome"]["event"]["data"]["message_id"]
    types = [e["type"] for e in pms.get(f"/incidents/{incident}/timeline").json()["events"]]
    assert types.count("status_link_sent") == 2

    listed = pms.get(base).json()["items"]
    assert [link["id"] for link in listed] == [
        first["id"],
        sms_link["id"],
        by_mail.json()["link"]["id"],
    ]
    assert all("token" not in link for link in listed)
    revoked = pms.delete(f"{base}/{first['id']}")
    assert revoked.status_code == 200 and revoked.json()["active"] is False
    assert api.client().get(f"/status/{first['token']}").status_code == 404
    assert api.client().get(f"/status/{sms_link['token']}").status_code == 200
    unknown = pms.delete(f"{base}/{'0' * 16}")
    assert unknown.status_code == 422 and unknown.json()["field"] == "link"

    for lang, words_of_page in (("da", "Din sag"), ("id", "Kasus Anda")):
        page = text_of(api.client().get(f"/status/{sms_link['token']}?lang={lang}").text)
        assert words_of_page in page
        for secret in ("pms", "integration", "Booked for June", "+45", "mette@example.com"):
            assert secret not in page, (lang, secret)

    refused = pms.post(f"{base}/send", json={"via": "email", "recipient": "not-an-address"})
    assert refused.status_code == 422 and refused.json()["field"] == "recipient"
    elsewhere = api.client("desk_vejle")
    assert elsewhere.post(f"{base}/send", json={}).status_code == 404
    assert elsewhere.get(base).status_code == 404

    score = pms.get(f"/incidents/{incident}/score").json()
    assert score["recovery_score"] == 100 and score["pushes"] == 0
    preview = pms.get(f"/incidents/{incident}/letters/written_apology/preview?locale=da")
    assert preview.status_code == 200 and preview.json()["locale"] == "da"
    assert "Booked for June" not in preview.json()["text"], "the internal summary stays inside"
    assert [e["type"] for e in pms.get(f"/incidents/{incident}/timeline").json()["events"]].count(
        "step_action"
    ) == 0, "a preview records nothing"


def test_staff_land_on_the_customer_link_and_send_it(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(tmp_path / "mail"))
    with running_site(sqlite_url, catalog, tmp_path / "mail") as site:
        desk = site.signed_in("ana")
        desk.get("/web/incidents/new")
        landed = desk.follow(desk.post("/web/incidents/new", HOTEL_FORM))
        link = desk.flash_link()
        assert link and link.startswith(f"{site.base_url}/status/"), "shown where staff land"
        assert site.client().get(link).status_code == 200
        incident_id = landed.url.path.rsplit("/", 1)[1]
        desk.follow(desk.post(f"/web/incidents/{incident_id}/status-links/send", {"via": "email"}))
        assert "Status link sent by e-mail to mette@example.com" in text_of(desk.page)
        (mail,) = (tmp_path / "mail").glob("status-link-*.eml")
        assert "Din sag" in mail.read_text()
        types = [e.type for e in site.rec.timeline(incident_id)]
        assert types.count("status_link_sent") == 1
        listed = site.app.state.web.links.list(incident_id)
        assert len(listed) == 2 and all(link.id in desk.page for link in listed)
        desk.follow(desk.post(f"/web/incidents/{incident_id}/status-links/{listed[0].id}/revoke"))
        assert f"Status link {listed[0].id} revoked" in text_of(desk.page)
        assert site.client().get(link).status_code == 404, "the link shown at open is revoked"
