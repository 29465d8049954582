"""The staff pages in Danish and Indonesian, in a real browser: a Danish user (her choice,
stored with her) sees the board and an incident page in Danish; an Indonesian browser
(Accept-Language id) sees them in Indonesian and can switch on the language page; axe-core
finds no serious or critical violation on any of those pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from recovery.domain.commands import CustomerProfile, OpenIncident
from tests.conftest import FRONT_DESK
from tests.e2e.browser.test_accessibility import axe_violations
from tests.e2e.test_web_helpers import PASSWORD, Site


@pytest.fixture(scope="module")
def incident(web_site: Site) -> str:
    accounts = web_site.app.state.ctx.accounts
    accounts.add_user("mette", PASSWORD, "front_desk", ["ribe"])
    accounts.set_locale("mette", "da")
    opened = web_site.rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Sri Wahyuni", contact="sri@example.com"),
        ),
        actor=FRONT_DESK,
        channel="desk",
    )
    return opened.id


@pytest.fixture
def page_in(browser: Any) -> Iterator[Any]:
    contexts: list[Any] = []

    def open_page(locale: str) -> Any:
        # Playwright sends the context's locale as the Accept-Language header
        context = browser.new_context(locale=locale, bypass_csp=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page: Any, site: Site, username: str) -> None:
    """By the fields' ids: their labels are in the browser's language."""
    page.goto(site.base_url + "/")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(site.base_url + "/")


def test_a_danish_user_sees_the_board_and_an_incident_in_danish(
    web_site: Site, incident: str, page_in: Any
) -> None:
    page = page_in("en-GB")  # her own choice, not her browser's, decides
    sign_in(page, web_site, "mette")
    assert page.get_attribute("html", "lang") == "da"
    assert page.get_by_role("heading", level=1).inner_text() == "Åbne sager"
    assert page.get_by_role("columnheader", name="Næste frist").is_visible()
    assert page.get_by_role("link", name="Ny sag").first.is_visible()
    countdown = page.locator("#board-rows time.due").first.inner_text()  # the script's words
    assert re.fullmatch(r"om .*|.* forsinket", countdown), countdown
    found = {"board": axe_violations(page)}

    page.get_by_role("link", name="Sri Wahyuni").click()
    page.wait_for_url(f"**/web/incidents/{incident}")
    assert page.get_attribute("html", "lang") == "da"
    assert page.get_by_role("heading", name=re.compile("^Genopretningstrin")).is_visible()
    assert page.get_by_role("heading", name="Tidslinje", exact=False).is_visible()
    assert page.locator("summary", has_text="Udfør").first.is_visible()  # "Complete"
    assert page.get_by_text("Fravig dette trin").count() == 0  # waiving is a manager's
    # the playbook's words and the timeline, in Danish too
    assert page.get_by_role("heading", name="Sig undskyld og mén det").is_visible()
    assert page.locator("#timeline").get_by_text("Oprettet for Sri Wahyuni").is_visible()
    page.locator("#step-apologise summary", has_text="Udfør").first.click()
    assert page.get_by_label("Hvem sagde undskyld").is_visible()
    found["incident"] = axe_violations(page)
    assert {name: v for name, v in found.items() if v} == {}


def test_an_indonesian_browser_sees_indonesian_and_can_choose_danish(
    web_site: Site, incident: str, page_in: Any
) -> None:
    page = page_in("id-ID")
    page.goto(web_site.base_url + "/login")
    assert page.get_attribute("html", "lang") == "id"
    assert page.get_by_role("heading", level=1).inner_text() == "Masuk"
    found = {"signin": axe_violations(page)}

    sign_in(page, web_site, "ana")
    assert page.get_by_role("heading", level=1).inner_text() == "Kasus terbuka"
    found["board"] = axe_violations(page)
    page.goto(f"{web_site.base_url}/web/incidents/{incident}")
    assert page.get_by_role("heading", name=re.compile("^Langkah pemulihan")).is_visible()
    assert page.locator("summary", has_text="Selesaikan").first.is_visible()
    assert page.get_by_role("heading", name="Minta maaf dengan tulus").is_visible()
    assert page.locator("#timeline").get_by_text("Dibuka untuk Sri Wahyuni").is_visible()
    found["incident"] = axe_violations(page)
    page.goto(web_site.base_url + "/web/notifications")
    assert page.get_by_role("heading", level=1).inner_text() == "Notifikasi"
    found["notifications"] = axe_violations(page)

    page.get_by_role("link", name="Bahasa", exact=True).click()
    page.wait_for_url("**/web/preferences")
    found["preferences"] = axe_violations(page)
    page.get_by_label("Dansk").check()
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/web/preferences")
    assert page.get_attribute("html", "lang") == "da"
    assert page.get_by_role("status").inner_text().strip() == "Sproget er gemt."
    page.get_by_label(re.compile("min browsers sprog")).check()  # back to the browser's
    page.get_by_role("button", name="Gem").click()
    page.wait_for_url("**/web/preferences")
    assert page.get_attribute("html", "lang") == "id"
    assert {name: v for name, v in found.items() if v} == {}


def test_more_danish_pages_pass_axe(web_site: Site, incident: str, page_in: Any) -> None:
    manager = page_in("da-DK")
    sign_in(manager, web_site, "mads")
    found: dict[str, Any] = {}
    for name, path, heading in [
        ("approvals", "/web/approvals", "Venter på min godkendelse"),
        ("search", "/web/search?q=Sri", "Søg"),
        ("incident", f"/web/incidents/{incident}", None),
        ("audit index", "/web/audit", None),
        ("playbooks", "/web/playbooks", "Drejebøger"),
        (
            "playbook",
            "/web/playbooks/hotel-walked-guest",
            "Gæst uden værelse (intet værelse ved ankomst)",
        ),
        ("reports", "/web/reports", None),
    ]:
        manager.goto(web_site.base_url + path)
        assert manager.get_attribute("html", "lang") == "da"
        if heading:
            assert manager.get_by_role("heading", level=1).inner_text() == heading
        found[name] = axe_violations(manager)
    admin = page_in("da-DK")
    sign_in(admin, web_site, "root")
    admin.goto(web_site.base_url + "/web/admin/users")
    assert admin.get_by_label("Sprog for mette").input_value() == "da"
    found["users"] = axe_violations(admin)
    assert {name: v for name, v in found.items() if v} == {}
