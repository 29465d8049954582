"""A returning guest in a real browser: the front desk opens a second incident for a guest
who was here before, and the page shows the first at its top (what it was about, where it
stands, what was promised), so nobody asks the guest to tell the story again."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.e2e.browser.test_web_browser import expect, shot, sign_in
from tests.e2e.test_web_helpers import Site


def open_by_form(page: Any, site: Site, summary: str) -> str:
    page.goto(site.base_url + "/web/incidents/new")
    page.locator("#incident_type").select_option("hotel.walked_guest")
    page.get_by_label("Name").fill("Karen Holm")
    page.get_by_label(re.compile("^Contact")).fill("karen.holm@example.com")
    page.get_by_label(re.compile("^Customer number")).fill("LOY-4711")
    page.get_by_label(re.compile("^What went wrong")).fill(summary)
    page.get_by_role("button", name="Open incident").click()
    page.wait_for_url(re.compile(r"/web/incidents/inc_[0-9a-f]+$"))
    return str(page.url.rsplit("/", 1)[1])


def test_the_second_incident_of_a_returning_guest_shows_the_first_at_the_top(
    browser: Any, web_site: Site, artifacts: Path
) -> None:
    check = expect()
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    sign_in(page, web_site, "ana")

    first = open_by_form(page, web_site, "Room given away on Friday night")
    check(page.locator("#customer-history")).to_have_count(0)  # nothing before
    check(page.locator("#flash-link")).to_have_value(re.compile(r"/status/"))

    second = open_by_form(page, web_site, "Back again: no room on Saturday either")
    history = page.locator("#customer-history")
    check(history).to_be_visible()
    check(history).to_contain_text("This customer before")
    check(history).to_contain_text("Room given away on Friday night")
    check(history).to_contain_text("promised: Apologise and mean it")
    history_box = history.bounding_box()
    checklist_box = page.locator("ol.checklist").bounding_box()
    assert history_box["y"] < checklist_box["y"], "the history is at the top"
    shot(page, artifacts, "returning-guest-history")

    history.get_by_role("link", name=re.compile("walked guest")).click()
    page.wait_for_url(re.compile(f"/web/incidents/{first}$"))
    check(page.locator("#customer-history")).to_contain_text("Back again")

    page.goto(f"{web_site.base_url}/web/customers/LOY-4711")
    check(page.get_by_role("heading", name="Karen Holm")).to_be_visible()
    check(page.locator("a[href='/web/incidents/" + second + "']").first).to_be_visible()
    context.close()
