"""Search in a real browser: a desk finds a closed incident by its reservation number,
typed into the box in the page header."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import MANAGER
from tests.e2e.browser.test_web_browser import expect, sign_in
from tests.e2e.test_web_helpers import Site


def test_search_by_reservation_number_finds_a_closed_incident(browser: Any, web_site: Site) -> None:
    site = web_site
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, site, "ana")
    page.goto(site.base_url + "/web/incidents/new")
    page.get_by_label("Type").select_option("hotel.walked_guest")  # a first incident here
    page.get_by_label("Name").fill("Karin Sørensen")
    page.get_by_label(re.compile("^Reservation, account or case number")).fill("RES-55120")
    page.get_by_role("button", name="Open incident").click()
    page.wait_for_url(re.compile(r"/web/incidents/inc_[0-9a-f]+$"))
    incident_id = page.url.rsplit("/", 1)[1]
    site.rec.release(incident_id, "the guest chose another hotel", "Hotel Dagmar", actor=MANAGER)

    page.goto(site.base_url + "/")
    expect()(page.get_by_role("link", name="Karin Sørensen")).to_have_count(0)  # not open
    box = page.get_by_role("searchbox", name="Search incidents")
    box.fill("res 55120")  # as read out over the phone
    box.press("Enter")
    page.wait_for_url(re.compile(r"/web/search\?q="))
    found = page.get_by_role("table", name="Incidents found")
    expect()(found.get_by_role("link", name="Karin Sørensen")).to_be_visible()
    expect()(found).to_contain_text("RES-55120")
    expect()(found).to_contain_text("released")
    found.get_by_role("link", name="Karin Sørensen").click()
    page.wait_for_url(site.base_url + f"/web/incidents/{incident_id}")
    context.close()
