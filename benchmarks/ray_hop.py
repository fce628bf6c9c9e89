"""The cost of the Ray hop: one-sentence embeddings over gRPC, one process vs the Ray backend.

    RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=... python -m benchmarks.ray_hop --ray-address ADDR

``ADDR`` is a running Ray cluster of the benchmark's own (e.g. the head started as in the
README's "Run on a Ray cluster"); the benchmark deploys MiniLM there through a Clarion
server and deletes every Serve application before and after. Both servers run the same
model with the same batcher (in the Ray replica for the second); one client measures p50 and
p99 latency, 16 concurrent clients the throughput.
"""

from __future__ import annotations

import asyncio
import statistics
from pathlib import Path

from benchmarks.batching import _load
from benchmarks.common import RESULTS_DIR, percentile, sentences, served, write_table
from benchmarks.ray_cluster import arguments, delete_applications


def _measure(env: dict[str, str], texts: list[str], rounds: int, repeats: int) -> list[float]:
    """(p50 ms, p99 ms at one client, embeddings/s at 16 clients), medians over repeats."""
    with served(CLARION_PRELOAD="all-minilm-l6-v2", **env) as server:
        single = [
            asyncio.run(_load(server.grpc_port, server.pat, texts, 1, rounds * 16))
            for _ in range(repeats)
        ]
        many = [
            asyncio.run(_load(server.grpc_port, server.pat, texts, 16, rounds))
            for _ in range(repeats)
        ]
    return [
        statistics.median(percentile(lat, 50) for _, lat in single) * 1000,
        statistics.median(percentile(lat, 99) for _, lat in single) * 1000,
        statistics.median(rate for rate, _ in many),
    ]


def run(
    ray_address: str, rounds: int = 16, repeats: int = 3, results_dir: Path = RESULTS_DIR
) -> str:
    texts = sentences(64, seed=2)
    local = _measure({}, texts, rounds, repeats)
    delete_applications(ray_address)
    ray = _measure({"CLARION_RAY_ADDRESS": ray_address}, texts, rounds, repeats)
    delete_applications(ray_address)
    rows = [
        ["one process", f"{local[0]:.2f}", f"{local[1]:.2f}", f"{local[2]:.0f}", "1.00"],
        ["Ray backend", f"{ray[0]:.2f}", f"{ray[1]:.2f}", f"{ray[2]:.0f}",
         f"{ray[2] / local[2]:.2f}"],
        ["Ray adds", f"{ray[0] - local[0]:+.2f}", f"{ray[1] - local[1]:+.2f}", "", ""],
    ]  # fmt: skip
    return write_table(
        "ray_hop",
        "The Ray hop: one-sentence embeddings over gRPC",
        ["backend", "c=1 p50 ms", "c=1 p99 ms", "c=16 embeddings/s", "throughput ratio"],
        rows,
        results_dir,
    )


def main() -> None:
    args = arguments(__doc__)
    print(run(args.ray_address, args.rounds, args.repeats))


if __name__ == "__main__":
    main()
