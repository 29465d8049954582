"""axe-core in a real browser on the reports page (its SVG charts and tables) and the
admin's users and tokens pages: no serious or critical violation."""

from __future__ import annotations

from typing import Any

from tests.e2e.browser.test_accessibility import axe_violations
from tests.e2e.browser.test_web_browser import sign_in
from tests.e2e.test_web_helpers import Site


def test_no_serious_or_critical_axe_violation_on_reports_and_admin_pages(
    browser: Any, web_site: Site
) -> None:
    found: dict[str, Any] = {}
    auditor = browser.new_context(bypass_csp=True)
    page = auditor.new_page()
    sign_in(page, web_site, "aud")
    page.goto(web_site.base_url + "/web/reports?by=site")
    assert page.locator("svg[role=img] > title").count() == 5
    found["reports"] = axe_violations(page)
    auditor.close()
    admin = browser.new_context(bypass_csp=True)
    page = admin.new_page()
    sign_in(page, web_site, "root")
    for name, path in {"users": "/web/admin/users", "tokens": "/web/admin/tokens"}.items():
        page.goto(web_site.base_url + path)
        found[name] = axe_violations(page)
    admin.close()
    assert {name: v for name, v in found.items() if v} == {}
