"""The web page end to end over HTTP, on a real server (no browser: forms posted as a
browser without JavaScript would): sign-in and CSRF, the hotel story by forms, refusals
that say why, inert user text, property scoping, the customer's status page, the
auditor's view and exports, and error pages that never show a stack trace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import text

from recovery import Catalog
from recovery.demo import seed_demo
from recovery.domain.chain import event_hash
from tests.conftest import Clock
from tests.e2e.test_api_helpers import watch_password_checks
from tests.e2e.test_web_helpers import HOTEL_FORM, PASSWORD, Person, Site, running_site, text_of


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request: pytest.FixtureRequest, catalog: Catalog, tmp_path: Path) -> Iterator[Site]:
    url = str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
    with running_site(url, catalog, tmp_path / "mail") as running:
        yield running


@pytest.fixture
def lite(catalog: Catalog, sqlite_url: str, tmp_path: Path) -> Iterator[Site]:
    """SQLite only, for the tests that are about the page rather than the database."""
    with running_site(sqlite_url, catalog, tmp_path / "mail") as running:
        yield running


def open_hotel(person: Person, **changes: str) -> str:
    person.get("/web/incidents/new")
    response = person.post("/web/incidents/new", {**HOTEL_FORM, **changes})
    assert response.status_code == 303, text_of(response.text)[:2000]
    location = response.headers["location"]
    assert location.startswith("/web/incidents/inc_")
    person.follow(response)
    return location.rsplit("/", 1)[1]


def act(person: Person, incident_id: str, path: str, data: dict[str, str]) -> str:
    """Post a form of the incident page; return the page shown after it."""
    person.get(f"/web/incidents/{incident_id}")
    response = person.post(f"/web/incidents/{incident_id}/{path}", data)
    assert response.status_code == 303, (path, text_of(response.text)[:3000])
    return person.follow(response).text


# ---------------------------------------------------------------------------- sign in


def test_every_staff_page_sends_a_stranger_to_sign_in(lite: Site) -> None:
    http = lite.client()
    for path in ["/", "/web/incidents/new", "/web/incidents/inc_x", "/web/audit", "/web/reports"]:
        response = http.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    posted = http.post("/web/incidents/inc_x/notes", data={"text": "hello"})
    assert posted.status_code == 303
    assert posted.headers["location"] == "/login?next=/web/incidents/inc_x"


def test_sign_in_sets_the_api_session_cookie_and_sign_out_ends_it(lite: Site) -> None:
    person = Person(lite.client())
    signed = person.sign_in("ana")
    cookie = signed.headers["set-cookie"]
    assert "recovery_session=rcv_s_" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    # the same session works on the JSON API
    assert person.http.get("/auth/me").json()["name"] == "ana"
    board = person.get("/")
    assert board.status_code == 200
    assert "ana" in text_of(board.text)
    out = person.post("/logout")
    assert out.status_code == 303
    assert person.http.get("/").status_code == 303
    assert person.http.get("/auth/me").status_code == 401


def test_the_sign_in_page_checks_passwords_off_the_event_loop(
    lite: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = watch_password_checks(monkeypatch)
    Person(lite.client()).sign_in("ana")
    assert on_loop == [False]


def test_a_wrong_password_is_refused_with_a_reason_and_no_cookie(lite: Site) -> None:
    http = lite.client()
    form = http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token
    response = http.post(
        "/login", data={"csrf": token[1], "username": "ana", "password": "wrong password"}
    )
    assert response.status_code == 401
    assert "Wrong username or password" in response.text
    assert "recovery_session" not in response.headers.get("set-cookie", "")


def test_the_sign_in_page_stops_hearing_a_guesser(lite: Site) -> None:
    http = lite.client()

    def attempt(password: str) -> httpx.Response:
        form = http.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token
        return http.post("/login", data={"csrf": token[1], "username": "ana", "password": password})

    assert [attempt(f"guess {n}").status_code for n in range(5)] == [401] * 5
    refused = attempt(PASSWORD)
    assert refused.status_code == 429
    assert "too many failed sign-ins" in refused.text and refused.headers["Retry-After"]
    assert "recovery_session" not in refused.headers.get("set-cookie", "")


def test_the_sign_in_form_needs_its_own_csrf_cookie(lite: Site) -> None:
    http = lite.client()
    response = http.post("/login", data={"csrf": "forged", "username": "ana", "password": "x"})
    assert response.status_code == 403
    assert "expired" in response.text


def test_a_post_without_the_session_csrf_token_records_nothing(lite: Site) -> None:
    person = Person(lite.client())
    person.sign_in("ana")
    incident_id = open_hotel(person)
    for token in ("", "0" * 64):
        response = person.http.post(
            f"/web/incidents/{incident_id}/notes", data={"csrf": token, "text": "forged"}
        )
        assert response.status_code == 403
        assert "This form has expired" in response.text
    other = Person(lite.client())
    other.sign_in("mads")
    stolen = person.http.post(
        f"/web/incidents/{incident_id}/notes",
        data={"csrf": re.findall(r'name="csrf" value="([^"]+)"', other.get("/").text)[0]},
    )
    assert stolen.status_code == 403
    assert lite.rec.get(incident_id).state.notes == 0
    json_post = person.http.post(f"/web/incidents/{incident_id}/notes", json={"text": "forged"})
    assert json_post.status_code == 400


def test_security_headers_on_every_page(lite: Site) -> None:
    response = lite.client().get("/login")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


# ---------------------------------------------------------------------------- the story


def test_the_hotel_story_by_forms(site: Site) -> None:
    desk = site.signed_in("ana")
    incident_id = open_hotel(desk)
    page = text_of(desk.page)
    assert "all 6 steps are open at once" in page
    for title in (
        "Apologise and mean it",
        "Find another room in this town, now",
        "Insist on paying for the replacement room",
        "Buy dinner at a local restaurant",
        "Ask what else would make the stay comfortable",
        "Written apology with a certificate for a free night",
    ):
        assert title in page
    # the evidence each step asks for is a labelled field of its form
    assert 'for="step-rebook_local-complete-ev-hotel">Replacement hotel' in desk.page
    assert 'for="step-rebook_local-complete-ev-distance_km">Distance' in desk.page

    act(desk, incident_id, "steps/apologise/complete", {"ev.apology_by": "Ana, front desk"})
    # 32 km away is not local: refused, the form kept as typed, and why it was refused
    refused = desk.post(
        f"/web/incidents/{incident_id}/steps/rebook_local/complete",
        {"ev.hotel": "Hotel Koldingfjord", "ev.distance_km": "32"},
    )
    assert refused.status_code == 422
    shown = text_of(refused.text)
    assert "Not recorded." in shown
    assert "Distance from this hotel (km): 32 is above the limit of 5" in shown
    assert "allowed only with “Guest agreed to a hotel further away” ticked" in shown
    assert "What can be done on this step now:" in shown
    assert "Find another room in this town, now: mark it done" in shown
    assert 'value="Hotel Koldingfjord"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert "Traceback" not in refused.text
    act(
        desk,
        incident_id,
        "steps/rebook_local/complete",
        {
            "ev.hotel": "Hotel Koldingfjord",
            "ev.distance_km": "32",
            "ev.guest_consents_further": "true",
        },
    )
    # 185 is within the front desk's limit of 300: no manager needed
    act(desk, incident_id, "steps/pay_room/complete", {"ev.amount": "185", "ev.reference": "P1"})
    act(
        desk, incident_id, "steps/dinner/complete", {"ev.amount": "96", "ev.restaurant": "Backhaus"}
    )
    act(desk, incident_id, "steps/ask_what_else/complete", {"ev.answer": "a late checkout"})
    state = site.rec.get(incident_id).state
    assert state.steps["pay_room"].status == "done"
    assert state.steps["pay_room"].approval is None
    assert state.steps["rebook_local"].evidence["distance_km"] == 32

    # cannot close before the written follow-up is sent: the page says what is missing
    early = desk.post(f"/web/incidents/{incident_id}/close", {"summary": "done?"})
    assert early.status_code == 409
    assert (
        "cannot be closed while these required steps are still to do or waive: "
        "“Written apology with a certificate for a free night”"
    ) in text_of(early.text)

    page = act(
        desk,
        incident_id,
        "handoffs",
        {"to": "mads", "to_role": "manager", "context": "Letter and free-night certificate left"},
    )
    assert "Handed off from ana to mads" in text_of(page)

    manager = site.signed_in("mads")
    act(manager, incident_id, "steps/written_apology/draft", {"note": "We are so sorry."})
    code = site.rec.get(incident_id).state.steps["written_apology"].evidence["voucher_code"]
    assert code.startswith("FN-")
    act(manager, incident_id, "steps/written_apology/request_send", {"locale": "da"})
    site.run_mailer()
    assert site.rec.get(incident_id).state.steps["written_apology"].status == "sent"
    letter = manager.get(f"/web/incidents/{incident_id}/letters/written_apology")
    assert letter.status_code == 200
    assert code in letter.text
    closed = act(manager, incident_id, "close", {"summary": "All six steps, no push"})
    assert "Incident closed." in text_of(closed)
    final = site.rec.get(incident_id).state
    assert final.status == "closed"
    assert final.pushes == 0
    assert final.handoffs == 1


def test_a_push_is_recorded_honestly_and_shows_on_the_board(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk)
    page = act(desk, incident_id, "pushes", {"asked_for": "Dinner", "step": "dinner"})
    assert "the customer had to ask" in text_of(page).lower()
    state = lite.rec.get(incident_id).state
    assert state.pushes == 1
    assert state.steps["dinner"].pushed == 1
    board = desk.get("/")
    row = re.search(r"<tr[^>]*>.*?Mette Jensen.*?</tr>", board.text, flags=re.S)
    assert row
    assert 'data-label="Pushes" class="num"><span class="badge bad">1</span>' in row[0]


def test_what_a_user_typed_is_shown_as_text(lite: Site) -> None:
    desk = lite.signed_in("ana")
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    incident_id = open_hotel(desk, **{"customer.name": f"Eve {evil}", "summary": evil})
    page = act(desk, incident_id, "notes", {"text": evil})
    for shown in (page, desk.get("/").text, desk.get(f"/web/audit/{incident_id}").text):
        assert "<script>alert" not in shown
        assert "<img src=x" not in shown
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in shown


def test_a_refusal_says_why_and_what_is_allowed(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk)
    page = desk.get(f"/web/incidents/{incident_id}").text
    assert "step-dinner-waive" not in page  # a front desk is not offered manager actions
    refused = desk.post(f"/web/incidents/{incident_id}/steps/dinner/waive", {"reason": "no"})
    assert refused.status_code == 403
    assert "Only a manager may waive a step; the front desk may not" in text_of(refused.text)
    over = desk.post(
        f"/web/incidents/{incident_id}/steps/pay_room/complete",
        {"ev.amount": "450", "ev.reference": "P2"},
    )
    assert over.status_code == 409
    assert "450 EUR is above the front desk's limit of 300 EUR" in text_of(over.text)
    short = desk.post(f"/web/incidents/{incident_id}/handoffs", {"to": "mads", "context": "hi"})
    assert short.status_code == 422
    assert "Context for the next owner: needs at least 10 characters" in text_of(short.text)
    unknown = desk.post(f"/web/incidents/{incident_id}/steps/no_such_step/complete", {})
    assert unknown.status_code == 422
    assert "no step 'no_such_step'" in text_of(unknown.text)
    assert lite.rec.get(incident_id).version == 1
    # a manager gets the waive form, and a decline must offer alternatives
    manager = lite.signed_in("mads")
    assert "step-dinner-waive" in manager.get(f"/web/incidents/{incident_id}").text


def test_approvals_and_waivers_are_for_managers(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk)
    act(desk, incident_id, "steps/pay_room/request_approval", {"amount": "450", "reason": "Suite"})
    page = desk.get(f"/web/incidents/{incident_id}").text
    assert "450 EUR requested by ana, waiting for a manager" in text_of(page)
    assert "step-pay_room-grant_approval" not in page  # not offered to the front desk
    manager = lite.signed_in("mads")
    page = manager.get(f"/web/incidents/{incident_id}").text
    assert "step-pay_room-grant_approval" in page
    assert "step-pay_room-deny_approval" in page
    # a decline is never a bare no
    bare = manager.post(f"/web/incidents/{incident_id}/steps/pay_room/deny_approval", {})
    assert bare.status_code == 422
    assert "a decline must offer the customer alternatives" in text_of(bare.text)
    act(manager, incident_id, "steps/pay_room/grant_approval", {"reason": "Wedding weekend"})
    act(desk, incident_id, "steps/pay_room/complete", {"ev.amount": "450", "ev.reference": "P9"})
    act(manager, incident_id, "steps/dinner/waive", {"reason": "The guests ate at the wedding"})
    state = lite.rec.get(incident_id).state
    assert state.steps["pay_room"].status == "done"
    approval = state.steps["pay_room"].approval or {}
    assert approval.pop("requested_at") <= approval.pop("decided_at")
    assert approval == {
        "status": "granted",
        "requested_amount": 450.0,
        "requested_by": "ana",
        "granted_amount": 450.0,
        "decided_by": "mads",
    }
    assert state.steps["dinner"].status == "waived"
    timeline = text_of(manager.get(f"/web/incidents/{incident_id}").text)
    assert "Buy dinner at a local restaurant: waived" in timeline
    assert "The guests ate at the wedding" in timeline


def test_the_board_marks_overdue_incidents_nearest_deadline_first(
    catalog: Catalog, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    with running_site(sqlite_url, catalog, tmp_path / "mail", clock=clock) as site:
        desk = site.signed_in("ana")
        later = open_hotel(desk, **{"customer.name": "Later Guest"})
        clock.advance(minutes=3)
        sooner = open_hotel(desk, **{"customer.name": "Sooner Guest"})
        clock.advance(minutes=4)  # the first one's apology (due in 5 minutes) is now late
        board = desk.get("/").text
        rows = re.findall(
            r'<tr class="([^"]*)" data-overdue-holder>.*?/web/incidents/(\w+)', board, re.S
        )
        assert rows == [("overdue", later), ("", sooner)]
        assert "1 overdue" in text_of(board)
        assert "2 min overdue" in text_of(board)
        assert 'data-label="Pushes" class="num">0</td>' in board
        assert 'data-label="Handoffs" class="num">0</td>' in board
        filtered = desk.get("/?owner=nobody").text
        assert "No incidents match." in text_of(filtered)
        by_playbook = desk.get("/?playbook=hotel-walked-guest").text
        assert by_playbook.count("data-overdue-holder") == 2


def test_the_new_incident_form_keeps_what_was_typed_when_refused(lite: Site) -> None:
    desk = lite.signed_in("ana")
    desk.get("/web/incidents/new")
    assert re.search(r'<select id="incident_type"[^>]*autofocus', desk.page)
    missing = desk.post("/web/incidents/new", {**HOTEL_FORM, "customer.name": ""})
    assert missing.status_code == 422
    assert "Customer name: is required" in text_of(missing.text)
    assert 'value="mette@example.com"' in missing.text
    elsewhere = desk.post("/web/incidents/new", {**HOTEL_FORM, "site": "vejle"})
    assert elsewhere.status_code == 403
    assert "You may not open incidents at 'vejle'" in text_of(elsewhere.text)
    assert lite.rec.list_incidents(active_only=False) == []


# ---------------------------------------------------------------------------- scope


def test_a_front_desk_cannot_reach_another_propertys_incident(lite: Site) -> None:
    ribe = lite.signed_in("ana")
    incident_id = open_hotel(ribe)
    vejle = lite.signed_in("vera")
    for path in (
        f"/web/incidents/{incident_id}",
        f"/web/audit/{incident_id}",
        f"/web/audit/{incident_id}/events.jsonl",
        f"/web/audit/{incident_id}/verification.json",
        f"/web/incidents/{incident_id}/letters/written_apology",
    ):
        response = vejle.get(path)
        assert response.status_code == 404, path
        assert "Mette" not in response.text
    vejle.get("/")
    assert "Mette" not in vejle.page
    posted = vejle.post(f"/web/incidents/{incident_id}/notes", {"text": "sneaky"})
    assert posted.status_code == 404
    link = vejle.post(f"/web/incidents/{incident_id}/status-links")
    assert link.status_code == 404
    assert vejle.get("/web/export?site=ribe").status_code == 404
    assert vejle.get("/?site=ribe").text.count("Mette") == 0
    assert lite.rec.get(incident_id).state.notes == 0


# ---------------------------------------------------------------------------- customer page


def test_the_customer_status_page(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk)
    act(desk, incident_id, "steps/apologise/complete", {"ev.apology_by": "Ana Holm"})
    act(desk, incident_id, "notes", {"text": "Internal: guest was rude to Jesper"})
    other = open_hotel(desk, **{"customer.name": "Someone Else"})
    page = act(desk, incident_id, "status-links", {})
    link = desk.flash_link()
    assert link and link.startswith(f"{lite.base_url}/status/")
    assert link in page  # shown once, with its copy button
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 32

    customer = lite.client()
    response = customer.get(f"/status/{token}")
    assert response.status_code == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert 'lang="da"' in response.text
    shown = text_of(response.text)
    assert "Din sag" in shown
    assert "Vi undskyldte personligt." in shown  # done, in Danish
    assert "Vi finder et værelse til dig i nærheden." in shown  # next, with its deadline
    assert "senest" in shown
    for secret in ("Ana", "ana", "Jesper", "Internal", "Someone Else", other, incident_id):
        assert secret not in shown, secret
    english = text_of(customer.get(f"/status/{token}?lang=en").text)
    assert "We apologised in person." in english
    indonesian = text_of(customer.get(f"/status/{token}?lang=id").text)
    assert "Kami telah meminta maaf secara langsung." in indonesian

    assert customer.get("/status/not-a-real-token").status_code == 404
    desk.get(f"/web/incidents/{incident_id}")
    desk.follow(desk.post(f"/web/incidents/{incident_id}/status-links/revoke"))
    assert customer.get(f"/status/{token}").status_code == 404


def test_status_pages_of_the_demo_stories(lite: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOVERY_MAIL_DIR", str(lite.mail_dir))
    ids = seed_demo(lite.rec)
    links = lite.app.state.web.links
    pages = {}
    for incident_id in ids:
        token = links.create(incident_id, "test", lite.rec.clock())
        response = lite.client().get(f"/status/{token}")
        assert response.status_code == 200
        pages[lite.rec.get(incident_id).state.playbook_id] = text_of(response.text)
    released = pages["loyal-customer-at-risk"]
    assert "We could not solve this well ourselves" in released
    assert "porting code sent by SMS" in released  # the referral
    complaint = pages["complaint-written-answer"]
    assert "What happens next" in complaint
    assert "We expect everything to be done by" in complaint
    assert "We are waiting for: your bank account number" in complaint  # the held credit
    for page in pages.values():
        for name in ("Karim", "Haddad", "Niels", "Sara", "Line", "goodwill credit"):
            assert name not in page


# ---------------------------------------------------------------------------- auditor


def test_the_auditor_view_replays_verifies_and_exports(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk)
    act(desk, incident_id, "steps/apologise/complete", {"ev.apology_by": "Ana"})
    act(desk, incident_id, "notes", {"text": "Guests left on time."})
    auditor = lite.signed_in("aud")
    assert "New incident" not in auditor.get("/").text
    page = auditor.get(f"/web/audit/{incident_id}")
    assert page.status_code == 200
    shown = text_of(page.text)
    assert "verified" in shown
    assert "All 3 events link to each other unbroken" in shown
    assert 'type="range" id="seq" name="seq" min="1" max="3"' in page.text
    first = text_of(auditor.get(f"/web/audit/{incident_id}?seq=1").text)
    assert "State after event 1 of 3" in first
    assert "Apologise and mean it front desk to do" in first
    before = text_of(auditor.get(f"/web/audit/{incident_id}?at=2000-01-01T00:00").text)
    assert "had not been opened yet" in before

    lines = auditor.get(f"/web/audit/{incident_id}/events.jsonl").content.splitlines()
    events = [orjson.loads(line) for line in lines]
    assert [e["seq"] for e in events] == [1, 2, 3]
    for e in events:  # each line verifies on its own
        assert e["hash"] == event_hash(
            e["prev_hash"],
            e["incident_id"],
            e["seq"],
            e["type"],
            e["schema_version"],
            e["playbook_id"],
            e["playbook_version"],
            e["actor"],
            e["actor_role"],
            e["channel"],
            e["recorded_at"],
            e["data"].encode(),
        )
    csv_text = auditor.get(f"/web/audit/{incident_id}/events.csv").text
    assert csv_text.splitlines()[0].startswith("incident_id,site,incident_type")
    assert auditor.get(f"/web/audit/{incident_id}/verification.json").json()["ok"] is True
    everything = auditor.get("/web/export?site=ribe&format=jsonl")
    assert len(everything.content.splitlines()) == 3

    # an auditor changes nothing, and the page says so
    refused = auditor.post(f"/web/incidents/{incident_id}/notes", {"text": "x"})
    assert refused.status_code == 403

    with lite.engine.begin() as conn:
        conn.execute(
            # event 3's text is sealed: its placeholder, edited
            text("UPDATE events SET data = replace(data, '[redacted]', '[REDACTED]') WHERE seq = 3")
        )
    broken = text_of(auditor.get(f"/web/audit/{incident_id}").text)
    assert "broken" in broken
    assert "from event 3" in broken


def test_reports_for_managers_and_auditors_only(lite: Site) -> None:
    desk = lite.signed_in("ana")
    open_hotel(desk)
    assert desk.get("/web/reports").status_code == 403
    manager = lite.signed_in("mads")
    report = manager.get("/web/reports?by=site")
    assert report.status_code == 200
    assert "<meter" in report.text
    assert "ribe" in text_of(report.text)


def test_the_playbook_page_draws_its_state_diagrams(lite: Site) -> None:
    desk = lite.signed_in("ana")
    page = desk.get("/web/playbooks/hotel-walked-guest")
    assert page.status_code == 200
    assert page.text.count('<svg class="diagram"') == 4  # incident, compensation, plain, written
    assert "Step kind “written”" in text_of(page.text)
    assert "request_approval" in page.text
    assert desk.get("/web/playbooks/no-such-book").status_code == 404


def test_an_admin_sees_no_incident_data(lite: Site) -> None:
    admin = lite.signed_in("root")
    home = admin.get("/")
    assert home.status_code == 200
    assert "sees no incident data" in text_of(home.text)
    assert admin.get("/web/incidents/new").status_code == 403


# ---------------------------------------------------------------------------- errors


def test_the_working_channel_is_recorded_with_each_action(lite: Site) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk, channel="phone")
    act(desk, incident_id, "notes", {"text": "Called from the desk phone"})
    desk.follow(
        desk.post("/web/channel", {"channel": "chat", "back": f"/web/incidents/{incident_id}"})
    )
    act(desk, incident_id, "notes", {"text": "Then by chat"})
    channels = [e.channel for e in lite.rec.timeline(incident_id)]
    assert channels == ["phone", "phone", "chat"]
    refused = desk.post("/web/channel", {"channel": "pigeon", "back": "/"})
    assert refused.status_code == 400
    assert "channel must be one of" in text_of(refused.text)


def test_an_unexpected_error_is_a_page_not_a_stack_trace(
    lite: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    desk = lite.signed_in("ana")
    incident_id = open_hotel(desk)

    def boom(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(lite.rec, "timeline", boom)
    response = desk.get(f"/web/incidents/{incident_id}")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text
    for path in ("/web/incidents/bad id!", "/web/incidents/inc_nope", "/web/nothing/here"):
        missing = desk.get(path)
        assert missing.status_code == 404, path
        assert "Not found" in missing.text
        assert missing.headers["content-type"].startswith("text/html")
    assert desk.get(f"/web/incidents/{incident_id}/notes").status_code == 404
    # the JSON API keeps its own answers
    assert desk.http.get("/incidents/inc_nope").json()["error"] == "incident_not_found"


def shown_version(page: str, form_id: str) -> str:
    """The incident version a form of the page carries (its hidden field)."""
    start = page.index(f'id="{form_id}"')
    form = page[start : page.index("</form>", start)]
    found = re.search(r'name="version" value="(\d+)"', form)
    assert found is not None, f"{form_id} carries no version"
    return found[1]


def test_a_decision_on_a_step_someone_else_changed_is_refused_and_kept(lite: Site) -> None:
    desk = lite.signed_in("ana")
    manager = lite.signed_in("mads")
    incident_id = open_hotel(desk)
    page = desk.get(f"/web/incidents/{incident_id}").text
    seen = shown_version(page, "step-rebook_local-complete")
    manager_page = manager.get(f"/web/incidents/{incident_id}").text
    waived = manager.post(
        f"/web/incidents/{incident_id}/steps/dinner/waive",
        {
            "reason": "guest ate at the wedding",
            "version": shown_version(manager_page, "step-dinner-waive"),
        },
    )
    assert waived.status_code == 303

    # another step was changed meanwhile: not a conflict, the decision goes through
    rebooking = {"ev.hotel": "Hotel Dagmar", "ev.distance_km": "3", "version": seen}
    other = desk.post(f"/web/incidents/{incident_id}/steps/rebook_local/complete", rebooking)
    assert other.status_code == 303, text_of(other.text)
    assert lite.rec.get(incident_id).state.steps["rebook_local"].status == "done"
    assert lite.rec.get(incident_id).version == 3

    # the same step was changed meanwhile: refused, saying who did what, the form kept
    asking = {"amount": "120", "reason": "three courses", "version": seen}
    stale = desk.post(f"/web/incidents/{incident_id}/steps/dinner/request_approval", asking)
    assert stale.status_code == 409
    said = text_of(stale.text)
    assert "Someone else recorded something on this incident after you opened the page" in said
    assert "mads (manager) at 2026-" in said and "Buy dinner at a local restaurant: waived" in said
    assert lite.rec.get(incident_id).version == 3

    assert shown_version(stale.text, "step-pay_room-complete") == "3"  # the page as it is now
    # a note only adds to the record: it carries no version and is taken whatever happened
    assert 'name="version"' not in page[page.index('id="cmd-notes"') :].split("</form>")[0]


def test_the_board_pages_with_a_next_page_link(lite: Site) -> None:
    from recovery.service.board import PAGE_SIZE
    from tests.contract.support import open_hotel as open_direct

    ids = {open_direct(lite.rec).id for _ in range(PAGE_SIZE + 2)}
    desk = lite.signed_in("ana")
    first = desk.get("/", params={"site": "ribe"}).text
    shown = set(re.findall(r"/web/incidents/(inc_\w+)", first))
    assert len(shown) == PAGE_SIZE and "First page" not in first
    link = re.search(r'href="([^"]+)"[^>]*rel="next"', first)
    assert link
    second = desk.get(link[1].replace("&amp;", "&")).text
    rest = set(re.findall(r"/web/incidents/(inc_\w+)", second))
    assert shown | rest == ids and not shown & rest
    assert 'rel="next"' not in second and "First page" in second
    bad = desk.get("/", params={"after": "not-a-cursor"})
    assert bad.status_code == 422
    assert "after: not a page cursor" in text_of(bad.text)
