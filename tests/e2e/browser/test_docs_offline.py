"""`/docs` and `/redoc` work with no internet: every file they load comes from this server."""

from __future__ import annotations

import re
from typing import Any

from tests.e2e.browser.test_accessibility import AXE
from tests.e2e.browser.test_web_browser import expect
from tests.e2e.test_web_helpers import Site


def test_api_docs_render_with_every_outside_request_blocked(browser: Any, web_site: Site) -> None:
    context = browser.new_context()
    outside: list[str] = []

    def only_local(route: Any) -> None:
        if route.request.url.startswith(web_site.base_url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.goto(web_site.base_url + "/docs")
    page.locator(".swagger-ui .info .title").wait_for()
    assert "recovery" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/incidents").first.wait_for()
    page.goto(web_site.base_url + "/redoc")
    page.get_by_role("heading", name="recovery", exact=False).first.wait_for()
    page.locator("text=/incidents").first.wait_for()
    assert outside == []
    context.close()


def test_the_docs_pages_name_no_other_host(web_site: Site) -> None:
    http = web_site.client()
    for path in ("/docs", "/redoc"):
        page = http.get(path)
        assert page.status_code == 200
        assert "https://" not in page.text and "http://" not in page.text, path
        for asset in ("/docs-assets/swagger-ui-bundle.js", "/docs-assets/redoc.standalone.js"):
            if asset.rsplit("/", 1)[1] in page.text:
                assert http.get(asset).status_code == 200


RUN_AXE = """async (within) => {
  const result = await axe.run(within || document, {resultTypes: ["violations"]});
  return result.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => ({id: v.id, nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def axe_findings(page: Any, within: str = "") -> list[dict[str, Any]]:
    """axe-core's serious and critical findings on the page as it is now (or in the part
    `within` selects: each full check of these long pages takes 10-30 s). axe is evaluated
    by the browser's driver, so the page's strict CSP stays in force while it runs."""
    page.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE, within)
    return found


def test_the_api_docs_pass_axe_and_work_with_nothing_from_another_origin(
    browser: Any, web_site: Site
) -> None:
    context = browser.new_context()  # the pages' own CSP applies throughout
    sent_out: list[str] = []  # requests for another origin that reached the network
    refused: list[tuple[str, str]] = []  # (url, why) of requests that never went

    def only_local(route: Any) -> None:
        if route.request.url.startswith(web_site.base_url):
            route.continue_()
        else:
            sent_out.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    context.on("requestfailed", lambda r: refused.append((r.url, r.failure or "")))
    page = context.new_page()

    page.goto(web_site.base_url + "/docs")
    open_incident = page.locator("#operations-incidents-open__incidents_post")
    open_incident.locator(".opblock-summary-control").click()
    expect()(open_incident.locator(".opblock-summary-control")).to_have_attribute(
        "aria-expanded", "true"
    )
    open_incident.get_by_role("button", name="Try it out").click()
    body = open_incident.get_by_role("textbox", name="Request body")
    expect()(body).to_be_editable()
    open_incident.get_by_role("button", name="Execute").click()
    # signed out, the API answers 401: the call went to this server and came back
    expect()(
        open_incident.locator(".live-responses-table td.response-col_status:not(.col_header)")
    ).to_contain_text("401")
    found = {"docs": axe_findings(page)}
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.get_by_text("Available authorizations").wait_for()
    found["docs authorize"] = axe_findings(page, ".modal-ux")
    dialog.get_by_role("button", name="Close").first.click()

    page.goto(web_site.base_url + "/redoc")
    page.get_by_role("heading", name="recovery", exact=False).first.wait_for()
    page.get_by_placeholder("Search...").fill("hand off")
    hit = page.get_by_role("search").get_by_role("menuitem", name="Hand the incident off")
    hit.wait_for()
    found["redoc search"] = axe_findings(page, '[role="search"]')
    hit.click()
    expect()(page).to_have_url(re.compile(r"operation/hand_off_incidents"))
    page.get_by_placeholder("Search...").fill("")
    page.get_by_role("menu").get_by_role("menuitem", name="Record a push").click()
    expect()(page).to_have_url(re.compile(r"operation/record_push_incidents"))
    found["redoc"] = axe_findings(page)

    assert found == {"docs": [], "docs authorize": [], "redoc search": [], "redoc": []}
    assert sent_out == []
    # ReDoc's footer asks for its logo from its CDN; the CSP refuses it before it leaves
    assert all(why == "csp" for url, why in refused if not url.startswith(web_site.base_url))
    context.close()
