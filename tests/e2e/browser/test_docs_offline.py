"""`/docs` and `/redoc` work with no internet: every file they load comes from this server."""

from __future__ import annotations

from typing import Any

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
