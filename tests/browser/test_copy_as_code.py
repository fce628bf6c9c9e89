"""Copy as code: each snippet the page shows runs unchanged, in a subprocess, against the
server and gives the page's own result."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from selenium.webdriver import Chrome
from skimage import data as skdata

from clarion.server_thread import ServerThread
from tests.browser.page import Playground

pytestmark = pytest.mark.slow


@pytest.fixture
def page(driver: Chrome, server: ServerThread, screenshots: Path) -> Iterator[Playground]:
    driver.set_window_size(1280, 1000)
    yield Playground(driver, server, screenshots).open(key=server.pat)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the snippets run: the image the page was given sits there under its name."""
    Image.fromarray(skdata.chelsea()).save(tmp_path / "chelsea.png")
    return tmp_path


def _run(server: ServerThread, workdir: Path, argv: list[str]) -> str:
    env = {**os.environ, "CLARION_PAT": server.pat}
    done = subprocess.run(
        argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _python(server: ServerThread, workdir: Path, code: str) -> str:
    return _run(server, workdir, [sys.executable, "-c", code])


def _shell(server: ServerThread, workdir: Path, code: str) -> str:
    assert shutil.which("curl"), "curl is needed"
    return _run(server, workdir, ["bash", "-euo", "pipefail", "-c", code])


def _printed_concepts(output: str) -> list[tuple[str, float]]:
    pairs = [line.rsplit(": ", 1) for line in output.strip().splitlines()]
    return [(name, round(float(value), 4)) for name, value in pairs]


def test_python_sdk_and_curl_snippets_give_the_pages_concepts(
    page: Playground, workdir: Path
) -> None:
    page.pick_model("general-image-recognition")
    page.upload_image(workdir / "chelsea.png")
    page.set_option("max_concepts", "3")
    page.run()
    shown = [(name, round(value, 4)) for name, value in page.concepts()]
    assert len(shown) == 3

    clarifai = page.code("clarifai")
    assert "from clarifai.client.model import Model" in clarifai
    assert 'predict_by_filepath("chelsea.png", "image", output_config=dict(max_concepts=3))' in (
        clarifai
    )
    page.shot("13-copy-as-code-clarifai", show="code-title")
    assert _printed_concepts(_python(page.server, workdir, clarifai)) == shown

    clarion = page.code("clarion")
    assert "from clarion.client import Model" in clarion
    assert _printed_concepts(_python(page.server, workdir, clarion)) == shown

    curl = page.code("curl")
    assert curl.count("base64 -w0 'chelsea.png'") == 1 and page.server.pat not in curl
    page.shot("14-copy-as-code-curl", show="code-title")
    body = json.loads(_shell(page.server, workdir, curl))
    concepts = body["outputs"][0]["data"]["concepts"]
    assert [(c["name"], round(c["value"], 4)) for c in concepts] == shown

    assert "no route for a visual-classifier" in page.code("openai")


def test_snippets_with_the_key_and_select_concepts_run_as_shown(
    page: Playground, workdir: Path
) -> None:
    page.pick_model("general-image-recognition")
    page.upload_image(workdir / "chelsea.png")
    box = page.by_id("opt-select_concepts")
    box.send_keys("tabby cat\n")
    box.send_keys("goldfish\n")
    page.by_id("code-key").click()
    page.run()
    shown = sorted((name, round(value, 4)) for name, value in page.concepts())
    clarifai = page.code("clarifai")
    assert page.server.pat in clarifai
    env_free = {k: v for k, v in os.environ.items() if k != "CLARION_PAT"}
    done = subprocess.run(
        [sys.executable, "-c", clarifai], cwd=workdir, env=env_free, capture_output=True,
        text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(_printed_concepts(done.stdout)) == shown
    body = json.loads(_shell(page.server, workdir, page.code("curl")))
    assert (
        sorted((c["name"], round(c["value"], 4)) for c in body["outputs"][0]["data"]["concepts"])
        == shown
    )


def test_several_text_inputs_and_the_openai_embeddings_snippet(
    page: Playground, workdir: Path
) -> None:
    page.pick_model("all-minilm-l6-v2")
    page.type_text("The first sentence.")
    page.by_id("add-text").click()
    page.type_text("And a second one.", row=1)
    page.run()
    previews = [json.loads(e.text.replace(", ...", "")) for e in page.all(".vector-preview")]
    assert len(previews) == 2
    flat = [v for preview in previews for v in preview]
    printed = _python(page.server, workdir, page.code("openai")).strip().splitlines()
    assert [line.split(" dimensions")[0] for line in printed] == ["384", "384"]
    vectors = [v for line in printed for v in json.loads(line.split("dimensions: ")[1])]
    assert vectors == pytest.approx(flat, abs=1.5e-4)
    for form in ("clarifai", "clarion"):
        code = page.code(form)
        assert "Inputs.get_input_from_bytes(" in code
        lines = _python(page.server, workdir, code).strip().splitlines()
        vectors = [
            v for line in lines if "dimensions" in line
            for v in json.loads(line.split("dimensions: ")[1])
        ]  # fmt: skip
        assert vectors == pytest.approx(flat, abs=1.5e-4), form
    body = json.loads(_shell(page.server, workdir, page.code("curl")))
    assert [o["input"]["id"] for o in body["outputs"]] == ["input-1", "input-2"]


def test_the_chat_snippets_stream_the_pages_greedy_answer(page: Playground, workdir: Path) -> None:
    page.pick_model("smollm2-135m-instruct")
    page.type_text("Name three colours.")
    page.set_option("max_tokens", "10")
    page.set_option("temperature", "0")
    page.run()
    card = page.all(".result")[0]
    page.wait_for(lambda d: card.get_attribute("data-state") == "done")
    shown = str(page.all(".generated-text")[0].get_attribute("textContent"))
    for form in ("clarifai", "clarion", "openai"):
        out = _python(page.server, workdir, page.code(form))
        assert out.rstrip("\n") == shown, form
    lines = [
        json.loads(line)
        for line in _shell(page.server, workdir, page.code("curl")).splitlines()
        if line
    ]
    text = "".join(
        o["data"].get("text", {}).get("raw", "")
        for line in lines
        for o in line["result"]["outputs"]
    )
    assert text == shown
