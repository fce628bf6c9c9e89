"""`clarion` as a user runs it: serve in a subprocess, then predict, models and keys."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from click.testing import CliRunner
from PIL import Image
from skimage import data

from clarion.catalog.general_concepts import general_concepts
from clarion.cli.main import cli
from clarion.client import ClarionApiError, Model
from tests.served import CLARION, Served, clarion_env, serve

pytestmark = pytest.mark.slow


def run(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [CLARION, *args], env=clarion_env(home), capture_output=True, text=True, timeout=120
    )
    if check and result.returncode != 0:
        raise AssertionError(f"clarion {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path / "home") as running:
        yield running


@pytest.fixture
def served_llm(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path / "home", "--preload", "smollm2-135m-instruct") as running:
        yield running


@pytest.fixture
def served_demo(tmp_path: Path) -> Iterator[Served]:
    with serve(tmp_path / "home", "--demo") as running:
        yield running


def test_quick_start_demo_answers_the_seed_question(served_demo: Served) -> None:
    text = "".join(served_demo.lines)
    assert "Q: Who was president of the United States in 1955?" in text, text
    answer = next(line for line in served_demo.lines if line.strip().startswith("A: "))
    assert "Eisenhower" in answer, text
    assert "HTTP Request:" not in text  # the engine's private calls are not logged


def test_help_on_every_command(tmp_path: Path) -> None:
    """The installed command answers; every subcommand's help, in this process."""
    assert "Usage:" in run(tmp_path, "--help").stdout
    runner = CliRunner(env=clarion_env(tmp_path))
    for args in (
        ["status"],
        ["serve"],
        ["predict"],
        ["models"],
        ["models", "list"],
        ["models", "pull"],
        ["models", "prepare"],
        ["models", "concepts"],
        ["keys"],
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke"],
        ["apps", "create"],
        ["inputs", "upload"],
        ["models", "train"],
        ["models", "versions"],
        ["models", "deploy"],
    ):
        result = runner.invoke(cli, [*args, "--help"])
        assert result.exit_code == 0 and "Usage:" in result.output, (args, result.output)


def test_models_prepare_lists_versions_and_sizes_and_pull_only_checks_names(
    tmp_path: Path,
) -> None:
    out = run(tmp_path, "models", "prepare").stdout
    qwen = next(line for line in out.splitlines() if line.startswith("qwen2.5-coder-1.5b"))
    assert re.search(r"text-to-text\s+[0-9a-f]{32}\s+1,066 MiB$", qwen), out
    refused = run(tmp_path, "models", "pull", "--only", "no-such-model", check=False)
    assert refused.returncode != 0
    assert "no built-in model named no-such-model; choose from" in refused.stderr


def test_predict_in_process(tmp_path: Path) -> None:
    out = run(tmp_path, "predict", "all-minilm-l6-v2", "Hello, Clarion").stdout
    assert "status: 10000" in out and "embedding[384]" in out
    bad = run(tmp_path, "predict", "no-such-model", "Hello", check=False)
    assert bad.returncode != 0 and "21200" in bad.stdout


def test_generate_with_params_in_process_and_streamed(served: Served, tmp_path: Path) -> None:
    greedy = ("--param", "max_tokens=8", "--param", "do_sample=false")
    whole = run(tmp_path, "predict", "smollm2-135m-instruct", "Name a colour.", *greedy).stdout
    assert "status: 10000" in whole
    streamed = run(
        tmp_path / "home",
        "predict",
        "smollm2-135m-instruct",
        "Name a colour.",
        *greedy,
        "--stream",
        "--base-url",
        served.grpc_url,
    ).stdout
    answer = whole.splitlines()[-1].strip()
    assert answer and streamed.strip() == answer
    bad = run(tmp_path, "predict", "smollm2-135m-instruct", "x", "--param", "top_p=3", check=False)
    assert bad.returncode != 0 and "top_p must be in (0, 1], got 3.0." in bad.stdout


def test_predict_an_image_file_and_list_concepts(tmp_path: Path) -> None:
    photo = tmp_path / "coffee.png"
    Image.fromarray(data.coffee()).save(photo)
    out = run(
        tmp_path,
        "predict",
        "general-image-recognition",
        "--file",
        str(photo),
        "--input-type",
        "image",
    ).stdout
    assert "espresso" in out
    concepts = run(tmp_path, "models", "concepts", "general-image-recognition").stdout
    lines = concepts.splitlines()
    assert len(lines) == 1000 + len(general_concepts()) and lines[281] == "n02123045\ttabby cat"
    assert "n02121808\tcat" in lines[1000:]
    page = run(
        tmp_path,
        "models",
        "concepts",
        "general-image-recognition",
        "--page",
        "2",
        "--per-page",
        "10",
    ).stdout
    assert page.splitlines() == lines[10:20]


def test_serve_predict_over_the_network_and_keys(served: Served, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert (home / "credentials").read_text().strip() == served.pat
    assert oct((home / "credentials").stat().st_mode & 0o777) == "0o600"
    out = run(home, "predict", "all-minilm-l6-v2", "Hello", "--base-url", served.grpc_url).stdout
    assert "embedding[384]" in out
    listed = run(home, "models", "list", "--base-url", served.grpc_url).stdout
    assert "clarion/main/all-minilm-l6-v2" in listed
    status = run(home, "status", "--rest-url", served.rest_url).stdout.splitlines()
    assert status[0] == "ready: registry ok, preloaded_models ok", status
    assert status[1] == "reconciler: none: one process, no Ray cluster", status
    (minilm,) = [line.split() for line in status if line.startswith("all-minilm-l6-v2 ")]
    assert minilm[2:] == ["RUNNING", "-", socket.gethostname(), str(served.process.pid)], status
    playground = re.search(r"playground on (http://\S+)", "".join(served.lines))
    assert playground and playground.group(1) == served.rest_url + "/"
    assert "Clarion playground" in httpx.get(playground.group(1)).text

    new_pat = run(home, "keys", "create", "--user", "bob", "--description", "ci").stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{32}", new_pat)
    assert "bob" in run(home, "keys", "list").stdout
    with Model(model_id="all-minilm-l6-v2", pat=new_pat, base_url=served.grpc_url) as model:
        assert model.predict_by_bytes(b"hi", "text").status.code == 10000
        run(home, "keys", "revoke", new_pat[:8])
        assert "revoked" in run(home, "keys", "list", "--user", "bob").stdout
        time.sleep(1.2)  # the server re-reads key records at most every CLARION_CACHE_S (1 s)
        with pytest.raises(ClarionApiError) as info:
            model.predict_by_bytes(b"hi", "text")
        assert info.value.code == 11008


def test_sigterm_drains_in_flight_requests(served: Served) -> None:
    inputs = [
        resources_pb2.Input(
            id=f"d{i}", data=resources_pb2.Data(text=resources_pb2.Text(raw="word " * 200))
        )
        for i in range(128)
    ]
    results: list[service_pb2.MultiOutputResponse | ClarionApiError] = []

    def predict() -> None:
        with Model(model_id="all-minilm-l6-v2", pat=served.pat, base_url=served.grpc_url) as m:
            for _ in range(3):
                try:
                    results.append(m.predict(inputs))
                except ClarionApiError as exc:
                    results.append(exc)

    worker = threading.Thread(target=predict)
    worker.start()
    time.sleep(1.0)
    served.process.send_signal(signal.SIGTERM)
    worker.join(timeout=120)
    assert served.process.wait(timeout=60) == 0
    completed = [r for r in results if not isinstance(r, ClarionApiError)]
    assert completed, results  # the request in flight at SIGTERM was answered
    assert all(len(r.outputs) == 128 for r in completed)
    assert "Stopped." in "".join(served.lines)


def test_sigint_still_stops_the_server_after_the_llm_engine_starts(served_llm: Served) -> None:
    with Model(
        model_id="smollm2-135m-instruct", pat=served_llm.pat, base_url=served_llm.grpc_url
    ) as m:
        response = m.predict_by_bytes(b"Say hi.", "text", inference_params={"max_tokens": 4})
    assert response.outputs[0].completion_tokens >= 1
    served_llm.process.send_signal(signal.SIGINT)
    assert served_llm.process.wait(timeout=60) == 0
    assert "Stopped." in "".join(served_llm.lines)


def test_custom_model_workflow(served: Served, tmp_path: Path) -> None:
    home = tmp_path / "home"
    net = ("--base-url", served.grpc_url)
    rows = ["text,positive,negative"]
    rows += [
        f"{t},sports,cooking"
        for t in (
            "A late goal won the match",
            "The sprinter broke the record",
            "They won the final in extra time",
        )
    ]
    rows += [
        f"{t},cooking,sports"
        for t in ("Fry the garlic in oil", "Bake the cake for an hour", "Simmer the beans slowly")
    ]
    csv_file = tmp_path / "labels.csv"
    csv_file.write_text("\n".join(rows) + "\n")
    assert "created app demo" in run(home, "apps", "create", "demo", *net).stdout
    assert "admin/demo" in run(home, "apps", "list", *net).stdout
    assert "uploaded 6 inputs" in run(home, "inputs", "upload", "demo", str(csv_file), *net).stdout
    assert len(run(home, "inputs", "list", "demo", *net).stdout.splitlines()) == 6
    run(
        home,
        "models",
        "create",
        "demo",
        "topic",
        "--concept",
        "sports",
        "--concept",
        "cooking",
        *net,
    )
    trained = run(home, "models", "train", "demo", "topic", *net).stdout
    version_id = trained.split()[0]
    assert "21100" in trained and "accuracy=" in trained and "sports: P=" in trained
    listed = run(home, "models", "versions", "demo", "topic", *net).stdout
    assert listed.startswith(version_id)
    out = run(
        home,
        "predict",
        "admin/demo/topic",
        "The keeper saved a penalty",
        "--version",
        version_id,
        *net,
    ).stdout
    assert "sports" in out and "cooking" in out
    assert "created dataset news" in run(home, "datasets", "create", "demo", "news", *net).stdout
    upload = run(home, "inputs", "upload", "demo", str(csv_file), "--dataset", "news", *net)
    assert "uploaded 6 inputs" in upload.stdout
    assert "news\t6 inputs" in run(home, "datasets", "list", "demo", *net).stdout
    frozen = run(home, "datasets", "freeze", "demo", "news", *net).stdout
    dataset_version = frozen.split()[0]
    assert "6 inputs" in frozen
    assert run(home, "datasets", "versions", "demo", "news", *net).stdout.startswith(
        dataset_version
    )
    assert "cooking\tcooking" in run(home, "concepts", "list", "demo", *net).stdout
    on_frozen = run(home, "models", "train", "demo", "topic", "--exclusive",
                    "--dataset", "news", "--dataset-version", dataset_version,
                    "--param", "C=5", *net).stdout  # fmt: skip
    assert "21100" in on_frozen and "inputs=6" in on_frozen
    bad = run(home, "models", "train", "demo", "topic", "--param", "epochs=3", *net, check=False)
    assert bad.returncode != 0 and "Unknown train_info.params: epochs" in bad.stderr
    assert "deleted app demo" in run(home, "apps", "delete", "demo", *net).stdout
