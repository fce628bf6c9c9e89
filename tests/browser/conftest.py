"""A real headless Chromium (Debian's ``chromium`` and ``chromedriver``) driven by Selenium.

Without the browser the tests are skipped here, and fail in CI (``CI=true``), where
``.ci/run`` installs it. Screenshots go to ``build/playground-screenshots`` (git-ignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver import Chrome

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "playground-screenshots"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)


def _binaries() -> tuple[str, str]:
    chromium = shutil.which("chromium") or ""
    driver = shutil.which("chromedriver") or ""
    if chromium and driver:
        return chromium, driver
    message = "the browser tests need Debian's chromium and chromium-driver packages"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    """One browser for the session; each test starts from a fresh tab state via ``page``."""
    chromium, chromedriver = _binaries()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=chromedriver), options=options)
    browser.set_script_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"playground screenshots: {SCREENSHOTS}")
    return SCREENSHOTS
