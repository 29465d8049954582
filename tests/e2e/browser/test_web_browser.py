"""The web page in a real browser (Debian's Chromium through Playwright), on a real server.

The hotel story done by clicks and typing only, from sign-in to close: the front desk opens
the incident with the keyboard alone, completes five steps with their evidence (the 32 km
hotel refused until the guest consents), notes, contacts and hands off; the manager drafts
and sends the written apology, the mail worker mails it, the manager closes. Then the
customer's status page (Danish), the auditor's slider, time picker and export, and a front
desk of another property who cannot reach the incident. Screenshots of every stage are
saved to test-artifacts/browser/.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from recovery.domain.chain import event_hash
from tests.e2e.test_web_helpers import PASSWORD, Site

TABLET = {"width": 1024, "height": 768}
PORTRAIT = {"width": 768, "height": 1024}
PHONE = {"width": 414, "height": 860}

UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')].filter(e => e.labels.length === 0)
    .map(e => e.name || e.id)"""
OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def expect() -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def shot(page: Any, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def sign_in(page: Any, site: Site, username: str) -> None:
    page.goto(site.base_url + "/")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(site.base_url + "/")


def tab_to(page: Any, element_id: str, most: int = 6) -> None:
    """Press Tab until the element has the focus (a date field takes a Tab per part)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def submit_step(page: Any, step: str, summary: str, fields: dict[str, str], button: str) -> Any:
    card = page.locator(f"#step-{step}")
    card.locator("summary", has_text=summary).click()
    for label, value in fields.items():
        card.get_by_label(re.compile("^" + re.escape(label))).fill(value)
    card.get_by_role("button", name=button).click()
    return card


def flash(page: Any, text: str) -> None:
    expect()(page.locator(".flash")).to_contain_text(text)


def test_the_hotel_story_in_a_browser(browser: Any, web_site: Site, artifacts: Path) -> None:
    site = web_site
    check = expect()

    # ------------------------------------------------------------- the front desk
    desk_context = browser.new_context(viewport=TABLET)
    desk = desk_context.new_page()
    desk.goto(site.base_url + "/")
    desk.wait_for_url(re.compile(r"/login\?next="))
    shot(desk, artifacts, "01-sign-in")
    sign_in(desk, site, "ana")
    check(desk.get_by_role("heading", name="Open incidents")).to_be_visible()

    # an experienced agent opens one with the keyboard alone, well under 30 seconds
    started = time.monotonic()
    desk.goto(site.base_url + "/web/incidents/new")
    assert desk.evaluate("document.activeElement.id") == "incident_type"  # autofocus
    assert desk.evaluate(UNLABELLED) == []
    desk.keyboard.type("hotel.w")
    assert desk.locator("#incident_type").input_value() == "hotel.walked_guest"
    tab_to(desk, "site")
    tab_to(desk, "customer-name")
    desk.keyboard.type("Mette Jensen")
    tab_to(desk, "customer-contact")
    desk.keyboard.type("mette@example.com")
    tab_to(desk, "customer-language")
    desk.keyboard.type("Dansk")
    tab_to(desk, "summary")
    desk.keyboard.type("Booked for June instead of July; arrived 2 hours before a wedding")
    shot(desk, artifacts, "02-new-incident-by-keyboard")
    desk.keyboard.press("Enter")
    desk.wait_for_url(re.compile(r"/web/incidents/inc_[0-9a-f]+$"))
    assert time.monotonic() - started < 30
    incident_id = desk.url.rsplit("/", 1)[1]
    flash(desk, "all 6 steps are open at once")
    check(desk.locator("ol.checklist > li")).to_have_count(6)
    check(desk.locator("ol.checklist time.due")).to_have_count(6)  # a countdown on each
    assert desk.evaluate(UNLABELLED) == []
    shot(desk, artifacts, "03-incident-opened")

    submit_step(desk, "apologise", "Complete", {"Who apologised": "Ana, front desk"}, "Mark done")
    flash(desk, "Apologise and mean it: done")

    # 32 km is not "in this town": refused, with why and what is allowed, the form kept
    card = submit_step(
        desk,
        "rebook_local",
        "Complete",
        {"Replacement hotel": "Hotel Koldingfjord", "Distance from this hotel (km)": "32"},
        "Mark done",
    )
    problem = desk.locator("section.problem")
    check(problem).to_contain_text("Distance from this hotel (km): 32 is above the limit of 5")
    check(problem).to_contain_text("What can be done on this step now")
    check(card.get_by_label("Replacement hotel", exact=True)).to_have_value("Hotel Koldingfjord")
    shot(desk, artifacts, "04-refused-not-local")
    card.get_by_label("Guest agreed to a hotel further away").check()
    card.get_by_role("button", name="Mark done").click()
    flash(desk, "Find another room in this town, now: done")

    submit_step(
        desk,
        "pay_room",
        "Complete",
        {"Amount paid (EUR)": "185", "Payment reference": "PMS-4711"},
        "Mark done",
    )
    flash(desk, "Insist on paying for the replacement room: done")
    submit_step(
        desk,
        "dinner",
        "Complete",
        {"Amount (EUR)": "96", "Restaurant": "Restaurant Backhaus"},
        "Mark done",
    )
    flash(desk, "Buy dinner at a local restaurant: done")
    submit_step(
        desk,
        "ask_what_else",
        "Complete",
        {'What the guest asked for (or "nothing")': "A taxi to the wedding at 15:30"},
        "Mark done",
    )
    flash(desk, "Ask what else would make the stay comfortable: done")

    # what a user typed is shown as text, never run
    more = desk.locator("#more")
    more.locator("summary", has_text="Add a note").click()
    more.get_by_label("Note", exact=True).fill(
        "<script>window.pwned = 1</script> Guests left for the wedding on time."
    )
    more.get_by_role("button", name="Add note").click()
    flash(desk, "Note added.")
    check(desk.locator("#timeline")).to_contain_text("<script>window.pwned = 1</script>")
    assert desk.evaluate("window.pwned") is None

    contacts = desk.locator("#contacts")
    contacts.locator("summary", has_text="Record a contact").click()
    contacts.get_by_label("Channel").select_option("phone")
    contacts.get_by_label("Direction").select_option("outbound")
    contacts.get_by_label("What was said").fill("Called the guests: taxi confirmed for 15:30")
    contacts.get_by_role("button", name="Record contact").click()
    flash(desk, "Contact recorded.")
    check(desk.locator("#contacts")).to_contain_text("taxi confirmed")

    # the incident cannot close before the written apology is sent: the page says so
    check(desk.locator("#close")).to_contain_text("Not yet")
    check(desk.locator("#close")).to_contain_text("Written apology")

    handoff = desk.locator("#handoff")
    handoff.locator("summary", has_text="Hand off").click()
    handoff.get_by_label("Hand off to").fill("mads")
    handoff.get_by_label("Their role").select_option("manager")
    handoff.get_by_label("Context for the next owner").fill(
        "Five steps done, zero pushes. Please send the written apology with the free night."
    )
    handoff.get_by_role("button", name="Hand off with context").click()
    flash(desk, "Handed off")
    shot(desk, artifacts, "05-front-desk-done-and-handed-off")

    # tablet, portrait: one column, nothing wider than the screen
    desk.set_viewport_size(PORTRAIT)
    desk.reload()
    assert desk.evaluate(OVERFLOW) <= 0
    shot(desk, artifacts, "06-incident-tablet-portrait")
    desk_context.close()

    # ------------------------------------------------------------- the manager
    manager_context = browser.new_context(viewport=TABLET)
    manager = manager_context.new_page()
    sign_in(manager, site, "mads")
    manager.get_by_role("link", name="Mette Jensen").click()
    manager.wait_for_url(re.compile(incident_id))
    assert manager.evaluate(UNLABELLED) == []
    submit_step(
        manager,
        "written_apology",
        "Draft the letter",
        {"A personal paragraph for the letter": "We know what the weekend meant to you."},
        "Draft letter",
    )
    flash(manager, "letter drafted")
    card = manager.locator("#step-written_apology")
    card.locator("summary", has_text="Send the letter").click()
    check(card.get_by_label("Language of the letter")).to_have_value("da")
    card.get_by_role("button", name="Queue letter for sending").click()
    flash(manager, "letter queued for the mailer")
    site.run_mailer()  # the mail worker's pass
    manager.reload()
    check(manager.locator("#step-written_apology .badge").first).to_have_text("letter sent")
    with manager_context.expect_page() as letter_page:
        card.get_by_role("link", name="View or print the letter").click()
    letter = letter_page.value
    letter.wait_for_load_state()
    check(letter.locator("body")).to_contain_text("FN-")
    letter.close()

    manager.locator("#close").get_by_label("Closing summary").fill("All six steps, no push")
    manager.get_by_role("button", name="Close incident").click()
    flash(manager, "Incident closed.")
    check(manager.locator("#incident-title + .badge")).to_have_text("closed")
    shot(manager, artifacts, "07-closed-by-the-manager")

    manager.locator("#customer-link").get_by_role(
        "button", name="Create a link for the customer"
    ).click()
    flash(manager, "status link")
    link = manager.locator("#flash-link").input_value()
    assert link.startswith(site.base_url + "/status/")
    manager.get_by_role("link", name="Playbook and state diagrams").click()
    check(manager.locator("svg.diagram")).to_have_count(4)
    shot(manager, artifacts, "08-playbook-and-state-diagrams")
    manager_context.close()

    state = site.rec.get(incident_id).state
    assert state.status == "closed"
    assert state.pushes == 0
    assert state.steps["rebook_local"].evidence["guest_consents_further"] is True

    # ------------------------------------------------------------- the customer
    customer_context = browser.new_context(viewport=PHONE)
    customer = customer_context.new_page()
    customer.goto(link)
    check(customer.get_by_role("heading", name="Din sag")).to_be_visible()
    body = customer.locator("body")
    check(body).to_contain_text("Vi undskyldte personligt.")
    check(body).to_contain_text("Alt er gjort, og din sag er afsluttet.")
    shown = body.inner_text()
    for secret in ("ana", "mads", "Guests left", "Koldingfjord", "taxi", "PMS-4711", incident_id):
        assert secret not in shown, secret
    assert customer.evaluate(OVERFLOW) <= 0
    shot(customer, artifacts, "09-customer-status-page-danish")
    customer.get_by_role("link", name="English").click()
    check(body).to_contain_text("We apologised in person.")
    customer_context.close()

    # ------------------------------------------------------------- the auditor
    auditor_context = browser.new_context(viewport=TABLET, accept_downloads=True)
    auditor = auditor_context.new_page()
    sign_in(auditor, site, "aud")
    auditor.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    auditor.get_by_role("link", name="Mette Jensen").click()
    check(auditor.locator("#verification")).to_contain_text("verified")
    check(auditor.locator("#state-status")).to_have_text("closed")
    assert auditor.evaluate(UNLABELLED) == []
    slider = auditor.locator("#seq")
    slider.focus()
    auditor.keyboard.press("Home")  # the slider back to the first event...
    auditor.keyboard.press("Enter")  # ...and Enter shows it (keys alone never reload)
    auditor.wait_for_url(re.compile(r"seq=1"))
    check(auditor.locator("#state-status")).to_have_text("open")
    check(auditor.locator("#moment-title ~ h3")).to_contain_text("State after event 1 of")
    shot(auditor, artifacts, "10-auditor-slider-at-the-first-event")
    auditor.locator("#seq").focus()
    auditor.keyboard.press("ArrowRight")
    auditor.keyboard.press("Enter")
    auditor.wait_for_url(re.compile(r"seq=2"))
    check(auditor.locator("#event-2")).to_have_class(re.compile("current"))
    auditor.get_by_label(re.compile("At a time")).fill("2001-01-01T00:00:00")
    auditor.get_by_role("button", name="Show this moment").click()
    check(auditor.locator(".notice")).to_contain_text("had not been opened yet")
    with auditor.expect_download() as download:
        auditor.get_by_role("link", name="Events (JSON lines)").click()
    saved = artifacts / "hotel-events.jsonl"
    download.value.save_as(saved)
    events = [orjson.loads(line) for line in saved.read_bytes().splitlines()]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    last = events[-1]
    assert last["hash"] == event_hash(
        last["prev_hash"],
        last["incident_id"],
        last["seq"],
        last["type"],
        last["schema_version"],
        last["playbook_id"],
        last["playbook_version"],
        last["actor"],
        last["actor_role"],
        last["channel"],
        last["recorded_at"],
        last["data"].encode(),
    )
    shot(auditor, artifacts, "11-auditor-time-picker-and-export")
    auditor_context.close()

    # ------------------------------------------------------------- another property
    other_context = browser.new_context(viewport=TABLET)
    other = other_context.new_page()
    sign_in(other, site, "vera")
    check(other.locator("main")).not_to_contain_text("Mette")
    response = other.goto(f"{site.base_url}/web/incidents/{incident_id}")
    assert response is not None and response.status == 404
    check(other.get_by_role("heading", name="Not found")).to_be_visible()
    check(other.locator("main")).not_to_contain_text("Mette")
    shot(other, artifacts, "12-other-property-not-found")
    other_context.close()


@pytest.mark.parametrize("viewport", [TABLET, PORTRAIT], ids=["landscape", "portrait"])
def test_the_board_marks_overdue_incidents_at_tablet_width(
    browser: Any, web_site: Site, artifacts: Path, viewport: dict[str, int]
) -> None:
    site = web_site
    check = expect()
    shape = "portrait" if viewport == PORTRAIT else "landscape"
    customer = f"Camilla Berg ({shape})"
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    sign_in(page, site, "ana")
    page.goto(site.base_url + "/web/incidents/new")
    page.get_by_label("Type").select_option("hotel.walked_guest")
    page.get_by_label("Name", exact=True).fill(customer)
    page.get_by_label("What went wrong").fill("No room for a late arrival")
    page.get_by_role("button", name="Open incident").click()
    page.wait_for_url(re.compile(r"/web/incidents/inc_"))
    # the browser's clock moves on: the apology (due in 5 minutes) turns overdue on the board
    page.clock.install(time=datetime.now(UTC))
    page.goto(site.base_url + "/")
    page.clock.fast_forward("10:00")
    row = page.locator("tr", has_text=customer)
    check(row.locator("time.due")).to_contain_text("overdue")
    check(row).to_have_class(re.compile("overdue"))
    assert page.evaluate(OVERFLOW) <= 0
    shot(page, artifacts, f"13-board-{shape}")
    context.close()
