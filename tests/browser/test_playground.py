"""The playground in a real headless Chromium against the session server (real weights)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from skimage import data as skdata

from clarion.server_thread import ServerThread
from tests.browser.page import Playground
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

IMAGE_MODEL = "general-image-recognition"
CHAT_MODEL = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def cat_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("images") / "chelsea.png"
    Image.fromarray(skdata.chelsea()).save(path)
    return path


@pytest.fixture
def page(driver: Chrome, server: ServerThread, screenshots: Path) -> Iterator[Playground]:
    driver.set_window_size(1280, 1000)
    playground = Playground(driver, server, screenshots)
    yield playground
    # Refused calls log "Failed to load resource"; anything else (a CSP violation, an
    # uncaught exception) is a defect of the page.
    errors = [e for e in playground.console_errors() if "Failed to load resource" not in e]
    assert not errors, errors


def test_without_a_key_the_page_asks_for_one_and_shows_no_model_data(page: Playground) -> None:
    page.open("/")
    assert page.by_id("key-prompt").is_displayed()
    assert not page.by_id("main").is_displayed()
    assert page.all("#model-select option") == []
    page.shot("01-key-prompt")
    page.enter_key("0" * 32)
    page.wait_for(lambda d: "refused" in page.by_id("key-error").text)
    assert "11009" in page.by_id("key-error").text
    assert not page.by_id("main").is_displayed()
    assert page.all("#model-select option") == []
    assert page.driver.execute_script("return sessionStorage.length") == 0
    calls = page.driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert not [c for c in calls if "/models" in c], calls
    page.shot("02-key-refused")


def test_image_model_shows_the_top_concepts_as_sorted_bars(
    page: Playground, cat_image: Path
) -> None:
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    page.upload_image(cat_image)
    page.run()
    concepts = page.concepts()
    assert len(concepts) == 20
    values = [v for _, v in concepts]
    assert values == sorted(values, reverse=True)
    assert "cat" in [name for name, _ in concepts[:5]]  # with "animal" above it
    bar = page.all('.result[data-index="0"] .bar-fill')[0]
    assert bar.size["width"] > page.all('.result[data-index="0"] .bar-fill')[-1].size["width"]
    page.shot("03-image-concepts")


def test_max_concepts_3_shows_3(page: Playground, cat_image: Path) -> None:
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    assert "1 to 200" in page.by_id("opt-max_concepts-help").text
    assert "default 20" in page.by_id("opt-max_concepts-help").text
    page.upload_image(cat_image)
    slider = page.by_id("opt-max_concepts-slider")
    slider.send_keys(Keys.HOME, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT)  # by keyboard: 1, 2, 3
    assert page.by_id("opt-max_concepts").get_attribute("value") == "3"
    assert "output_config=dict(max_concepts=3)" in page.code("clarifai")
    page.run()
    assert len(page.concepts()) == 3
    page.shot("04-max-concepts-3")


def test_select_concepts_with_autocomplete_shows_those_two(
    page: Playground, cat_image: Path
) -> None:
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    names = page.driver.execute_script(
        "return [...document.querySelectorAll('#concept-names option')].map(o => o.value)"
    )
    assert len(names) == 1150 and "animal" in names and "goldfish" in names and "tabby cat" in names
    page.upload_image(cat_image)
    box = page.by_id("opt-select_concepts")
    for name in ("goldfish", "tabby cat"):
        box.send_keys(name + "\n")
    chips = [c.get_attribute("data-concept") for c in page.all(".chip")]
    assert chips == ["goldfish", "tabby cat"]
    page.run()
    concepts = dict(page.concepts())
    assert set(concepts) == {"goldfish", "tabby cat"}
    assert concepts["tabby cat"] > concepts["goldfish"]
    page.shot("05-select-concepts")


def test_a_refused_min_value_shows_the_servers_status_next_to_the_field(
    page: Playground, cat_image: Path
) -> None:
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    page.upload_image(cat_image)
    page.set_option("min_value", "1.5")
    page.run()
    message = page.option_error("min_value")
    assert "21202" in message and "min_value must be within [0, 1], got 1.5." in message
    assert page.option_error("max_concepts") == ""
    assert page.concepts() == []
    page.shot("06-min-value-refused", show="opt-min_value")
    page.set_option("min_value", "0.1")
    assert page.option_error("min_value") == ""
    page.run()
    assert all(v >= 0.1 for _, v in page.concepts()) and page.concepts()


def test_a_chat_answer_streams_and_stop_cancels_it(page: Playground) -> None:
    page.open(key=page.server.pat)
    page.pick_model(CHAT_MODEL)
    assert "must contain {prompt}" in page.by_id("opt-prompt_template-help").text
    # Raw text (no chat turn) that greedy decoding continues for all of max_tokens.
    page.type_text("1, 2, 3, 4, 5, 6, 7, 8, 9, 10,")
    page.set_option("prompt_template", "{prompt}")
    page.set_option("max_tokens", "2000")
    page.set_option("do_sample", "false")
    page.by_id("run").click()
    text = page.all(".generated-text")[0]
    page.wait_for(lambda d: len(text.text) > 30)
    assert page.by_id("stop").is_enabled()
    page.shot("07-chat-streaming")
    page.by_id("stop").click()
    card = page.all(".result")[0]
    page.wait_for(lambda d: card.get_attribute("data-state") == "stopped")
    assert "Stopped" in page.by_id("result-status").text
    stopped_at = text.text
    time.sleep(1.0)
    assert text.text == stopped_at
    assert page.all(".stream-meta dd") == []  # no counts: the server never finished it
    assert not page.by_id("stop").is_enabled() and page.by_id("run").is_enabled()
    page.shot("08-chat-stopped")


def test_a_finished_stream_shows_counts_finish_reason_and_reasoning_apart(
    page: Playground,
) -> None:
    page.open(key=page.server.pat)
    page.pick_model(CHAT_MODEL)
    page.type_text("Hi there")
    page.set_option("max_tokens", "12")
    page.set_option("do_sample", "false")
    page.set_option("reasoning_effort", "medium")
    page.run()
    card = page.all(".result")[0]
    page.wait_for(lambda d: card.get_attribute("data-state") == "done")
    meta = {dd.get_attribute("class"): dd.text for dd in card.find_elements(By.CSS_SELECTOR, "dd")}
    assert 0 < int(meta["completion-tokens"]) <= 12
    assert meta["finish-reason"] in ("length", "stop")
    assert int(meta["prompt-tokens"]) > 5 and int(meta["reasoning-tokens"]) > 0
    reasoning = card.find_element(By.CSS_SELECTOR, ".reasoning")
    assert reasoning.get_attribute("hidden") is None
    assert card.find_element(By.CSS_SELECTOR, ".generated-text").text.strip()
    page.shot("09-chat-finished")


def test_a_refused_generation_parameter_is_shown_next_to_its_field(page: Playground) -> None:
    page.open(key=page.server.pat)
    page.pick_model(CHAT_MODEL)
    page.type_text("Hi")
    page.set_option("top_p", "1.5")
    page.run()
    assert "top_p must be in (0, 1], got 1.5." in page.option_error("top_p")
    page.set_option("top_p", "")
    page.set_option("prompt_template", "no placeholder")
    assert "{prompt}" in page.option_error("prompt_template")


def test_text_embeddings_of_several_inputs_show_dimensions_and_similarity(
    page: Playground,
) -> None:
    page.open(key=page.server.pat)
    page.pick_model("all-minilm-l6-v2")
    page.type_text("A cat sits on the mat.")
    page.by_id("add-text").click()
    page.type_text("A kitten rests on a rug.", row=1)
    page.by_id("add-text").click()
    page.type_text("Quarterly tax filings are due.", row=2)
    page.run()
    assert [e.get_attribute("data-dimensions") for e in page.all(".embedding")] == ["384"] * 3
    cells = [float(c.text) for c in page.all(".similarity")]
    assert len(cells) == 9
    assert cells[0] == pytest.approx(1.0, abs=1e-3)
    assert cells[1] > cells[2]  # the two cat sentences are closer than cat and taxes
    page.shot("10-embeddings-similarity")


def test_mixed_success_shows_each_inputs_status(page: Playground, cat_image: Path) -> None:
    page.open(key=page.server.pat)
    page.pick_model("all-minilm-l6-v2")
    page.type_text("A text the embedder takes.")
    page.by_id("add-file").click()
    page.upload_image(cat_image)
    page.run()
    assert page.by_id("result-status").text.startswith("10010")
    badges = [b.get_attribute("data-code") for b in page.all(".result .badge")]
    assert badges == ["10000", "30101"]
    page.shot("11-mixed-success")


def test_the_page_fits_a_phone_screen(page: Playground, cat_image: Path) -> None:
    page.driver.set_window_size(390, 844)
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    page.upload_image(cat_image)
    page.set_option("max_concepts", "5")
    page.run()
    assert len(page.concepts()) == 5
    top_bar = page.all('.result[data-index="0"] .bar-fill')[0]
    assert top_bar.size["width"] > 20  # the bars are drawn on a narrow screen too
    width = page.driver.execute_script("return document.documentElement.scrollWidth")
    assert width <= page.driver.execute_script("return window.innerWidth")
    page.shot("12-phone")
    page.shot("12-phone-inputs", show="inputs-title")


def test_every_control_has_a_label_and_the_code_tabs_work_by_keyboard(page: Playground) -> None:
    page.open(key=page.server.pat)
    page.pick_model(CHAT_MODEL)
    page.type_text("Hello")
    unlabelled = page.driver.execute_script(
        """return [...document.querySelectorAll('input, select, textarea, button')]
             .filter(e => !e.closest('[hidden]'))
             .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                          && !e.textContent.trim())
             .map(e => e.id || e.outerHTML)"""
    )
    assert unlabelled == []
    tab = page.driver.find_element(By.CSS_SELECTOR, '[data-form="clarifai"]')
    tab.click()
    tab.send_keys("\ue014")  # ArrowRight
    focused = page.driver.switch_to.active_element
    assert focused.get_attribute("data-form") == "clarion"
    assert focused.get_attribute("aria-selected") == "true"
    assert "from clarion.client import Model" in page.by_id("code").text


def test_an_image_url_input_is_fetched_by_the_server(
    page: Playground, cat_image: Path, file_server: tuple[str, Path]
) -> None:
    base, root = file_server
    (root / "chelsea.png").write_bytes(cat_image.read_bytes())
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    page.all(".input-row .remove")[0].click()
    page.by_id("add-url").click()
    page.all(".input-row input[type=url]")[0].send_keys(f"{base}/chelsea.png")
    page.by_id("add-url").click()
    page.all(".input-row input[type=url]")[1].send_keys(f"{base}/missing.png")
    page.run()
    assert "cat" in [name for name, _ in page.concepts(0)[:5]]
    assert [b.get_attribute("data-code") for b in page.all(".result .badge")] == ["10000", "30002"]
    assert "input input-2:" in page.by_id("result-status").text  # numbered as on screen
    assert 'image_url="' + base + '/chelsea.png"' in page.code("clarifai")
    page.shot("16-image-urls")
    Select(page.all(".url-kind")[0]).select_by_value("text")  # what a URL holds can be chosen
    assert 'text_url="' + base + '/chelsea.png"' in page.code("clarifai")


def test_an_image_dropped_on_the_input_list_becomes_an_input(
    page: Playground, cat_image: Path
) -> None:
    page.open(key=page.server.pat)
    page.pick_model(IMAGE_MODEL)
    encoded = base64.b64encode(cat_image.read_bytes()).decode()
    page.driver.execute_script(
        """const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
           const transfer = new DataTransfer();
           transfer.items.add(new File([bytes], 'dropped-cat.png', {type: 'image/png'}));
           document.querySelector('.drop').dispatchEvent(
             new DragEvent('drop', {dataTransfer: transfer, bubbles: true, cancelable: true}));""",
        encoded,
    )
    page.wait_for(lambda d: page.all(".input-row .preview"))
    assert "dropped-cat.png" in page.all(".input-row .drop .hint")[0].text
    page.run()
    assert "cat" in [name for name, _ in page.concepts()[:5]]


def test_the_key_lives_in_session_storage_only_and_can_be_forgotten(page: Playground) -> None:
    page.open(key=page.server.pat)
    storage = page.driver.execute_script(
        "return [sessionStorage.length, localStorage.length, document.cookie]"
    )
    assert storage == [1, 0, ""]
    page.driver.refresh()  # the same tab keeps it
    page.wait_for(lambda d: page.by_id("main").get_attribute("data-model"))
    page.by_id("key-forget").click()
    assert page.by_id("key-prompt").is_displayed() and not page.by_id("main").is_displayed()
    assert page.driver.execute_script("return sessionStorage.length") == 0
    assert page.all("#model-select option") == [] and page.all("#results *") == []


@pytest.fixture(scope="module")
def single_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server whose LLM admits one generating input at a time."""
    home = tmp_path_factory.mktemp("one-slot")
    with ServerThread(make_settings(home, llm_queue_size=1)) as running:
        yield running


def test_stop_frees_the_generation_slot_on_the_server(
    driver: Chrome, single_slot: ServerThread, screenshots: Path
) -> None:
    page = Playground(driver, single_slot, screenshots).open(key=single_slot.pat)
    page.pick_model(CHAT_MODEL)
    page.type_text("1, 2, 3, 4, 5, 6, 7, 8, 9, 10,")
    page.set_option("prompt_template", "{prompt}")
    page.set_option("max_tokens", "2000")
    page.by_id("run").click()
    text = page.all(".generated-text")[0]
    page.wait_for(lambda d: len(text.text) > 30)
    page.by_id("stop").click()
    page.wait_for(lambda d: page.by_id("run").is_enabled())
    # The only slot is free again: the next generation is admitted, not answered 21354.
    page.set_option("max_tokens", "5")
    page.run()
    card = page.all(".result")[0]
    page.wait_for(lambda d: card.get_attribute("data-state") in ("done", "error"))
    assert card.get_attribute("data-state") == "done", card.text
