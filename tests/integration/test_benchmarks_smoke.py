"""Each benchmark runs once at a tiny size, so the suite cannot rot."""

from __future__ import annotations

from pathlib import Path

from benchmarks import embeddings, images, llm


def test_embeddings_benchmark_runs(tmp_path: Path) -> None:
    table = embeddings.run(repeats=1, batch=4, results_dir=tmp_path)
    assert "server, gRPC" in table and (tmp_path / "embeddings.md").read_text() == table


def test_images_benchmark_runs(tmp_path: Path) -> None:
    table = images.run(repeats=1, batch=2, results_dir=tmp_path)
    assert "server, gRPC" in table and (tmp_path / "images.md").exists()


def test_llm_benchmark_runs(tmp_path: Path) -> None:
    table = llm.run(repeats=1, max_tokens=4, levels=(1, 2), results_dir=tmp_path)
    assert "server (gRPC) tokens/s" in table and (tmp_path / "llm.md").exists()
