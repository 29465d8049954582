"""Accessibility in a real browser: axe-core (its own file, injected by Playwright: no CDN)
finds no serious or critical violation on any kind of page; the audit slider moves by
arrow keys without a reload and keeps the focus; the focus ring stands out (>= 3:1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import axe_playwright_python
import pytest

from recovery.domain.commands import CustomerProfile, OpenIncident
from tests.conftest import FRONT_DESK, MANAGER
from tests.e2e.browser.test_web_browser import sign_in
from tests.e2e.test_web_helpers import Site

AXE = Path(axe_playwright_python.__file__).with_name("axe.min.js")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def contrast(rgb_a: str, rgb_b: str) -> float:
    """WCAG contrast ratio of two `rgb(r, g, b)` colours."""

    def luminance(rgb: str) -> float:
        parts = [int(x) / 255 for x in re.findall(r"\d+", rgb)[:3]]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in parts]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(rgb_a), luminance(rgb_b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.fixture(scope="module")
def story(web_site: Site) -> dict[str, str]:
    """An incident with some history, closed steps and a status link."""
    rec = web_site.rec
    opened = rec.open(
        OpenIncident(
            incident_type="hotel.walked_guest",
            site="ribe",
            customer=CustomerProfile(name="Axel Berg", contact="axel@example.com"),
            external_ref="RES-A11Y",
        ),
        actor=FRONT_DESK,
        channel="desk",
    )
    iid = opened.id
    rec.complete_step(iid, "apologise", {"apology_by": "Ana"}, actor=FRONT_DESK)
    rec.add_note(iid, "guest waits in the lobby", actor=FRONT_DESK)
    rec.waive_step(iid, "dinner", "ate at the wedding", actor=MANAGER)
    rec.add_note(iid, "taxi booked", actor=FRONT_DESK)
    token = web_site.app.state.ctx.links.create(iid, "ana", datetime.now(UTC))
    return {"id": iid, "token": token}


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))  # inline: the context bypasses the pages' CSP for it
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return found


def test_no_serious_or_critical_axe_violation_on_any_page(
    browser: Any, web_site: Site, story: dict[str, str]
) -> None:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.goto(web_site.base_url + "/login")
    found = {"signin": axe_violations(page)}
    page.goto(f"{web_site.base_url}/status/{story['token']}")
    found["status"] = axe_violations(page)
    sign_in(page, web_site, "aud")  # the auditor sees the audit view
    iid = story["id"]
    for name, path in {
        "board": "/",
        "incident": f"/web/incidents/{iid}",
        "audit": f"/web/audit/{iid}?seq=2",  # a moment in the past: later events marked
        "search": "/web/search?q=res-a11y",
    }.items():
        page.goto(web_site.base_url + path)
        found[name] = axe_violations(page)
    desk = browser.new_context(bypass_csp=True).new_page()
    sign_in(desk, web_site, "ana")
    for name, path in {
        "new": "/web/incidents/new",
        "desk incident": f"/web/incidents/{iid}",
    }.items():
        desk.goto(web_site.base_url + path)
        found[name] = axe_violations(desk)
    assert {name: v for name, v in found.items() if v} == {}
    context.close()


def test_the_audit_slider_moves_by_arrow_keys_without_a_reload(
    browser: Any, web_site: Site, story: dict[str, str]
) -> None:
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, web_site, "aud")
    page.goto(f"{web_site.base_url}/web/audit/{story['id']}?seq=2")
    page.evaluate("window.notReloaded = true")
    slider = page.locator("#seq")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("window.notReloaded") is True  # the same document: no reload
    assert page.evaluate("document.activeElement.id") == "seq"
    assert slider.input_value() == "4"
    assert "event 4 of 5" in page.locator("#seq-label").inner_text()
    with page.expect_navigation():
        page.keyboard.press("Enter")  # Enter shows the chosen moment
    assert page.evaluate("document.activeElement.id") == "seq"  # the focus comes back
    assert slider.input_value() == "4"
    context.close()


def test_the_focus_ring_stands_out_against_white(browser: Any, web_site: Site) -> None:
    page = browser.new_context().new_page()
    page.goto(web_site.base_url + "/login")
    page.get_by_label("Username").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Shift+Tab")  # a keyboard focus: :focus-visible applies
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    assert contrast(ring, "rgb(255, 255, 255)") >= 3.0, ring
