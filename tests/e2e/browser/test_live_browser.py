"""Live pages in a real browser: what one person records shows on another's open page
within a second, without a reload and without touching what they are typing; a manager
sees an approval waiting in the header and decides it from the queue; and under
`recovery serve` alone (its worker in-process) the hotel story's letter goes out and the
incident closes, by clicks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from recovery import Actor, CustomerProfile, OpenIncident
from recovery.service.notifications import Notifier
from tests.e2e.browser.test_web_browser import TABLET, expect, flash, shot, sign_in, submit_step
from tests.e2e.test_api_cli import free_port
from tests.e2e.test_web_helpers import Site
from tests.serving import wait_until_healthy

LIVE = 1000  # ms: a change shows on every open page within a second


def open_incident(site: Site, name: str) -> str:
    opened = site.rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name=name, contact="guest@example.com"),
            summary="Booked for June instead of July",
        ),
        actor=Actor(id="ana", role="front_desk"),
        channel="desk",
    )
    return opened.id


def live_page(context: Any, site: Site, username: str | None, path: str) -> Any:
    """A page at `path` (signing in as `username` first, unless None: signed in already)."""
    page = context.new_page()
    if username is not None:
        sign_in(page, site, username)
    page.goto(site.base_url + path)
    # the page's own marker: a reload or a navigation would lose it
    page.evaluate("window.sameDocument = true")
    expect()(page.locator("html")).to_have_attribute("data-live", "on")
    return page


def still_same_document(page: Any) -> bool:
    return page.evaluate("window.sameDocument === true") is True


def test_two_people_see_each_others_changes_within_a_second(
    browser: Any, web_site: Site, artifacts: Path
) -> None:
    site, check = web_site, expect()
    incident_id = open_incident(site, "Lone Berg")
    path = f"/web/incidents/{incident_id}"
    desk_context = browser.new_context(viewport=TABLET)
    manager_context = browser.new_context(viewport=TABLET)
    desk = live_page(desk_context, site, "ana", path)
    manager = live_page(manager_context, site, "mads", path)
    board = live_page(manager_context, site, None, "/")

    # the desk records a note: the manager's incident page and board show it
    more = desk.locator("#more")
    more.locator("summary", has_text="Add a note").click()
    more.get_by_label("Note", exact=True).fill("Taxi booked for 15:30")
    more.get_by_role("button", name="Add note").click()
    flash(desk, "Note added.")
    check(manager.locator("#timeline")).to_contain_text("Taxi booked for 15:30", timeout=LIVE)
    assert still_same_document(manager)
    desk.evaluate("window.sameDocument = true")  # the desk's own note was a page load

    # the desk starts typing a note; meanwhile the manager records a contact: the desk's
    # timeline and contacts update, the half-typed note keeps its text and the focus
    more = desk.locator("#more")
    more.locator("summary", has_text="Add a note").click()
    typing = more.get_by_label("Note", exact=True)
    typing.fill("The guest also asked for")
    contacts = manager.locator("#contacts")
    contacts.locator("summary", has_text="Record a contact").click()
    contacts.get_by_label("Channel").select_option("phone")
    contacts.get_by_label("Direction").select_option("outbound")
    contacts.get_by_label("What was said").fill("Called the guest: the taxi is confirmed")
    contacts.get_by_role("button", name="Record contact").click()
    flash(manager, "Contact recorded.")
    check(desk.locator("#timeline")).to_contain_text("the taxi is confirmed", timeout=LIVE)
    check(desk.locator("#contacts")).to_contain_text("the taxi is confirmed")
    assert still_same_document(desk)
    check(typing).to_have_value("The guest also asked for")
    check(typing).to_be_focused()
    shot(desk, artifacts, "live-01-change-shown-while-typing")

    # the board: the manager's other tab shows the incident's new step count in place
    submit_step(desk, "apologise", "Complete", {"Who apologised": "Ana, front desk"}, "Mark done")
    row = board.locator("tr", has_text="Lone Berg")
    check(row).to_contain_text("5 of 6", timeout=LIVE)
    assert still_same_document(board)
    desk_context.close()
    manager_context.close()


def test_a_manager_sees_an_approval_waiting_and_decides_it_from_the_queue(
    browser: Any, web_site: Site, artifacts: Path
) -> None:
    site, check = web_site, expect()
    incident_id = open_incident(site, "Jens Holm")
    desk_context = browser.new_context(viewport=TABLET)
    manager_context = browser.new_context(viewport=TABLET)
    desk = live_page(desk_context, site, "ana", f"/web/incidents/{incident_id}")
    manager = live_page(manager_context, site, "mads", "/")
    waiting = manager.locator("#awaiting-me")
    check(waiting).to_contain_text("0")
    check(desk.locator("#awaiting-me")).to_have_count(0)  # a front desk approves nothing

    submit_step(
        desk,
        "pay_room",
        "Ask a manager to approve",
        {"Amount to approve": "450", "Why (for the manager)": "Only a suite was left nearby"},
        "Request approval",
    )
    flash(desk, "awaiting approval")
    desk.evaluate("window.sameDocument = true")  # the request itself was a page load
    check(waiting).to_contain_text("1", timeout=LIVE)
    assert still_same_document(manager)
    shot(manager, artifacts, "live-02-approval-waiting-in-the-header")

    waiting.click()
    manager.wait_for_url(re.compile("/web/approvals$"))
    request = manager.locator("li", has_text="Jens Holm")
    check(request).to_contain_text("450 EUR")
    check(request).to_contain_text("300 EUR (front desk)")  # the requester's limit
    check(request).to_contain_text("Only a suite was left nearby")
    check(request).to_contain_text("ana")
    shot(manager, artifacts, "live-03-approval-queue")
    request.locator("summary", has_text="Approve").click()
    request.get_by_role("button", name="Approve").click()
    manager.wait_for_url(re.compile("/web/approvals$"))
    flash(manager, "approved")
    check(manager.locator("main")).to_contain_text("Nothing waits for your approval")
    check(manager.locator("#awaiting-me")).to_contain_text("0")

    # the desk's page shows the decision without a reload
    badge = desk.locator("#step-pay_room .badge").first
    check(badge).to_have_text("approved", timeout=LIVE)
    assert still_same_document(desk)
    assert site.rec.get(incident_id).state.steps["pay_room"].status == "approved"

    # the worker tells the desk; her header shows it, and she marks it read
    notices = desk.locator("#notices-link")
    check(notices).to_contain_text("0")
    assert Notifier(site.rec).tell(incident_id) >= 1  # what the worker does between clicks
    check(notices).to_contain_text("1", timeout=LIVE)
    assert still_same_document(desk)
    notices.click()
    mine = desk.locator("#notices li", has_text="Jens Holm")
    check(mine).to_contain_text("your request was approved")
    check(mine).to_contain_text("mads approved")
    shot(desk, artifacts, "live-04-notified-of-the-approval")
    mine.get_by_role("button", name="Mark read").click()
    flash(desk, "Marked read.")
    check(desk.locator("#notices-link")).to_contain_text("0")
    desk_context.close()
    manager_context.close()


# ---------------------------------------------------------------- recovery serve alone


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`recovery serve --demo` in a subprocess, nothing else running beside it."""
    port = free_port()
    mail = tmp_path / "mail"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "recovery"),
            "serve",
            "--demo",
            "--port",
            str(port),
            "--db",
            f"sqlite:///{tmp_path / 'recovery.db'}",
            "--log-level",
            "warning",
        ],
        cwd=tmp_path,
        env={**os.environ, "RECOVERY_MAIL_DIR": str(mail)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            base, process, 60, lambda: process.stdout.read() if process.stdout else ""
        )
        yield base, mail
    finally:
        process.terminate()
        process.wait(timeout=20)
        if process.stdout:
            process.stdout.close()


STEPS = [
    ("apologise", {"apology_by": "Ana, front desk"}),
    ("rebook_local", {"hotel": "Hotel Dagmar", "distance_km": 0.4}),
    ("dinner", {"amount": 85, "restaurant": "Restaurant Backhaus"}),
    ("ask_what_else", {"answer": "a taxi to the wedding"}),
]


def test_the_hotel_story_closes_under_recovery_serve_alone(
    browser: Any, served: tuple[str, Path], artifacts: Path
) -> None:
    base, mail = served
    check = expect()
    with httpx.Client(base_url=base, timeout=30) as api:
        login = api.post("/auth/login", json={"username": "desk", "password": "recovery-demo"})
        assert login.status_code == 200, login.text
        opened = api.post(
            "/incidents",
            json={
                "incident_type": "hotel.walked_guest",
                "site": "ribe-central",
                "customer": {"name": "Karen Blix", "contact": "karen@example.dk"},
                "summary": "Booked for June instead of July",
            },
        )
        assert opened.status_code == 201, opened.text
        incident_id = opened.json()["incident"]["id"]
        for step_id, evidence in STEPS:
            done = api.post(
                f"/incidents/{incident_id}/steps/{step_id}/complete", json={"evidence": evidence}
            )
            assert done.status_code == 200, done.text
        pay = f"/incidents/{incident_id}/steps/pay_room"
        asked = api.post(f"{pay}/request_approval", json={"amount": 450, "reason": "a suite"})
        assert asked.status_code == 200, asked.text

        context = browser.new_context(viewport=TABLET)
        page = context.new_page()
        page.goto(base + "/")
        page.get_by_label("Username").fill("manager")
        page.get_by_label("Password").fill("recovery-demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        # the server's own worker told the manager (of the demo's guest tonight, and of
        # Karen's suite); the queue holds both requests
        check(page.locator("#notices-link .badge")).to_have_text("2", timeout=15_000)
        check(page.locator("#awaiting-me")).to_contain_text("2")
        page.locator("#awaiting-me").click()
        request = page.locator("li", has_text="Karen Blix")
        request.locator("summary", has_text="Approve").click()
        request.get_by_role("button", name="Approve").click()
        flash(page, "approved")
        paid = api.post(f"{pay}/complete", json={"evidence": {"amount": 450}})
        assert paid.status_code == 200, paid.text

    page.goto(f"{base}/web/incidents/{incident_id}")
    submit_step(
        page,
        "written_apology",
        "Draft the letter",
        {"A personal paragraph for the letter": "We know what the day meant to you."},
        "Draft letter",
    )
    flash(page, "letter drafted")
    card = page.locator("#step-written_apology")
    card.locator("summary", has_text="Send the letter").click()
    card.get_by_role("button", name="Queue letter for sending").click()
    flash(page, "letter queued for the mailer")
    page.evaluate("window.sameDocument = true")
    # nobody runs a worker: the server's own sends the letter, and the page shows it
    check(page.locator("#step-written_apology .badge").first).to_have_text(
        "letter sent", timeout=15_000
    )
    assert still_same_document(page)
    to_karen = [p for p in mail.glob("*.eml") if "karen@example.dk" in p.read_text()]
    assert len(to_karen) == 1  # (the demo's own stories mailed theirs when seeded)
    page.locator("#close").get_by_label("Closing summary").fill("Everything done, no push")
    page.get_by_role("button", name="Close incident").click()
    flash(page, "Incident closed.")
    check(page.locator("#incident-title + .badge")).to_have_text("closed")
    shot(page, artifacts, "live-05-closed-under-serve-alone")
    context.close()
