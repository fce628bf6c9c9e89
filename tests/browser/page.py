"""The playground page, as the browser tests drive it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from clarion.server_thread import ServerThread

#: Generous: the tests never time the server, they only wait for what the page shows.
WAIT_S = 240


class Playground:
    def __init__(self, driver: Chrome, server: ServerThread, shots: Path) -> None:
        self.driver = driver
        self.server = server
        self.shots = shots

    # navigation ---------------------------------------------------------------------

    def open(self, path: str = "/playground", key: str | None = None) -> Playground:
        self.driver.get(self.server.rest_url + "/healthz")
        self.driver.execute_script("sessionStorage.clear()")
        self.driver.get(self.server.rest_url + path)
        self.wait_for(lambda d: d.find_element(By.ID, "key-prompt").is_displayed())
        if key is not None:
            self.enter_key(key)
        return self

    def enter_key(self, key: str) -> None:
        box = self.by_id("key-input")
        box.clear()
        box.send_keys(key)
        self.by_id("key-submit").click()
        if key == self.server.pat:
            self.wait_for(lambda d: d.find_element(By.ID, "main").is_displayed())
            self.wait_for(lambda d: self.by_id("main").get_attribute("data-model"))

    def shot(self, name: str, show: str = "result-title") -> Path:
        """Save a screenshot with the element ``show`` (the results, by default) in view."""
        target = self.driver.find_elements(By.ID, show)
        if target and target[0].is_displayed():
            self.driver.execute_script("arguments[0].scrollIntoView()", target[0])
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    # finding ------------------------------------------------------------------------

    def by_id(self, element_id: str) -> WebElement:
        return self.driver.find_element(By.ID, element_id)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, condition: Any, timeout: float = WAIT_S) -> Any:
        return WebDriverWait(self.driver, timeout).until(condition)

    # model, inputs, options ---------------------------------------------------------

    def pick_model(self, model_id: str) -> None:
        select = Select(self.by_id("model-select"))
        for option in select.options:
            if option.text.startswith(f"{model_id} ("):
                select.select_by_visible_text(option.text)
                break
        else:
            raise AssertionError(
                f"{model_id} is not in the picker: {[o.text for o in select.options]}"
            )
        self.wait_for(
            lambda d: str(self.by_id("main").get_attribute("data-model")).endswith(f"/{model_id}")
        )

    def upload_image(self, path: Path, row: int = 0) -> None:
        self.all(".input-row input[type=file]")[row].send_keys(str(path))
        self.wait_for(lambda d: self.all(".input-row .preview"))

    def type_text(self, text: str, row: int = 0) -> None:
        box = self.all(".input-row textarea")[row]
        box.clear()
        box.send_keys(text)

    def set_option(self, name: str, value: str) -> None:
        control = self.by_id(f"opt-{name}")
        if control.tag_name == "select":
            Select(control).select_by_value(value)
        else:
            control.clear()
            control.send_keys(value)

    def option_error(self, name: str) -> str:
        return str(self.by_id(f"opt-{name}-error").text)

    # running ------------------------------------------------------------------------

    def run(self) -> None:
        self.by_id("run").click()
        self.wait_for(lambda d: self.by_id("run").is_enabled())

    def concepts(self, card: int = 0) -> list[tuple[str, float]]:
        rows = self.all(f'.result[data-index="{card}"] .concept')
        return [
            (str(r.get_attribute("data-name")), float(r.get_attribute("data-value") or 0))
            for r in rows
        ]

    def code(self, form: str) -> str:
        self.driver.find_element(By.CSS_SELECTOR, f'[role="tab"][data-form="{form}"]').click()
        return str(self.by_id("code").get_attribute("textContent"))

    def console_errors(self) -> list[str]:
        return [
            str(entry["message"])
            for entry in self.driver.get_log("browser")
            if entry["level"] in ("SEVERE", "ERROR")
        ]


__all__ = ["Playground", "ec"]
