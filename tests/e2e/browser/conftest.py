"""Browser fixtures: Debian's Chromium driven by Playwright, and a real server.

The browser tests are skipped when Chromium (`which chromium`) or the Playwright package is
missing, unless RECOVERY_REQUIRE_BROWSER=1 (as in CI), where they fail instead. Playwright
never downloads a browser here: it launches the system's Chromium.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from recovery import Catalog
from tests.e2e.test_web_helpers import Site, running_site

REQUIRE_BROWSER = os.environ.get("RECOVERY_REQUIRE_BROWSER") == "1"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"the browser tests are required (RECOVERY_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("chromium is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def web_site(
    catalog: Catalog, tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("web")
    with running_site(f"sqlite:///{folder / 'recovery.db'}", catalog, folder / "mail") as site:
        yield site


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
