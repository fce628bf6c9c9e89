"""Custom models in the playground: create, upload labelled inputs, train twice, compare."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from clarion.server_thread import ServerThread
from tests.browser.page import Playground

pytestmark = pytest.mark.slow


APP = "playground-test"


@pytest.fixture
def page(driver: Chrome, server: ServerThread, screenshots: Path) -> Iterator[Playground]:
    driver.set_window_size(1280, 1000)
    yield Playground(driver, server, screenshots).open(key=server.pat)
    # The session server is shared: leave no app behind.
    url = f"{server.rest_url}/v2/users/me/apps/{APP}"
    httpx.delete(url, headers={"Authorization": f"Key {server.pat}"}).raise_for_status()


def _fill(page: Playground, element_id: str, value: str) -> None:
    box = page.by_id(element_id)
    box.clear()
    box.send_keys(value)


def _trained_rows(page: Playground) -> int:
    """Trained versions in the table (read in one go: the table is redrawn while polling)."""
    script = "return document.querySelectorAll('#custom-versions tr[data-code=\"21100\"]').length"
    return int(page.driver.execute_script(script))


def test_create_upload_train_watch_and_compare_versions(page: Playground) -> None:
    _fill(page, "custom-app", APP)
    _fill(page, "custom-model", "topics")
    _fill(page, "custom-concepts", "sports, cooking")
    page.by_id("custom-create-run").click()
    page.wait_for(lambda d: "Created" in page.by_id("custom-create-status").text)

    page.by_id("custom-upload-run").click()
    page.wait_for(lambda d: "Uploaded 6 labelled" in page.by_id("custom-upload-status").text)

    for trained in (1, 2):
        page.by_id("custom-train").click()
        # The table may show the version trained one poll before the status line does.
        page.wait_for(
            lambda d, n=trained: (
                _trained_rows(page) == n and "21100" in page.by_id("custom-train-status").text
            )
        )
    assert "21100" in page.by_id("custom-train-status").text
    rows = page.all("#custom-versions tbody tr")
    assert len(rows) == 2

    # the trained model is in the picker, with both versions to choose from
    user = page.by_id("key-user").text.removeprefix("Signed in as ")
    page.wait_for(
        lambda d: page.by_id("main").get_attribute("data-model") == f"{user}/{APP}/topics"
    )
    assert [r.find_element(By.CSS_SELECTOR, ".version-metrics").text for r in rows] != ["", ""]
    assert len(Select(page.by_id("version-select")).options) == 3  # latest + 2 versions

    first = str(rows[-1].get_attribute("data-version"))
    Select(page.by_id("version-select")).select_by_value(first)
    page.type_text("Roast the vegetables with salt")
    assert f"/{APP}/models/topics/versions/{first}" in page.code("clarion")
    page.run()
    assert page.all(".answered-by")[0].get_attribute("data-version") == first
    assert page.concepts()[0][0] == "cooking"

    page.by_id("custom-compare").click()
    page.wait_for(lambda d: len(page.all(".compare-column .concept")) == 4)
    columns = page.all(".compare-column")
    assert [c.get_attribute("data-version") for c in columns] == [
        r.get_attribute("data-version") for r in rows
    ]
    for column in columns:
        values = {
            row.get_attribute("data-name"): float(row.get_attribute("data-value") or 0)
            for row in column.find_elements(By.CSS_SELECTOR, ".concept")
        }
        assert values["sports"] > values["cooking"]
    page.shot("15-custom-compare", show="custom-versions")
