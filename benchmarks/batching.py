"""Dynamic batching: 64 concurrent single-sentence embedding requests, batcher on vs off.

    python -m benchmarks.batching [--clients 64] [--rounds 8]

The ceiling is the model's own gain from batching, measured in-process in the same run:
length-sorted batches of 32 vs one sentence at a time. Each client has its own gRPC
connection and sends its next request as soon as the last one is answered.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import grpc
from clarifai_grpc.grpc.api import service_pb2

from benchmarks.common import (
    RESULTS_DIR,
    median_seconds,
    percentile,
    sentences,
    served,
    write_table,
)
from clarion.catalog.minilm import MINILM
from clarion.config import Settings
from clarion.rpcs import RPCS
from clarion.runners import TextEmbeddingRunner


def model_ceiling(texts: list[str], repeats: int) -> tuple[float, float]:
    """(one-at-a-time, batched) embeddings/s of the model itself."""
    settings = Settings.from_env({"CLARION_HOME": tempfile.mkdtemp(prefix="clarion-bench-")})
    runner = TextEmbeddingRunner.from_spec(MINILM.spec(settings), settings)
    runner.load()
    single = median_seconds(lambda: [runner.embed([t]) for t in texts], repeats)
    batched = median_seconds(lambda: runner.embed(texts), repeats)
    runner.close()
    return len(texts) / single, len(texts) / batched


async def _load(
    port: int, pat: str, texts: list[str], clients: int, rounds: int
) -> tuple[float, list[float]]:
    rpc = RPCS["PostModelOutputs"]
    channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(clients)]
    calls = [
        c.unary_unary(
            "/clarifai.api.V2/PostModelOutputs",
            request_serializer=rpc.request_class.SerializeToString,
            response_deserializer=rpc.response_class.FromString,
        )
        for c in channels
    ]
    metadata = (("authorization", f"Key {pat}"),)
    latencies: list[float] = []

    def request(text: str) -> service_pb2.PostModelOutputsRequest:
        message = service_pb2.PostModelOutputsRequest()
        message.user_app_id.user_id, message.user_app_id.app_id = "clarion", "main"
        message.model_id = "all-minilm-l6-v2"
        message.inputs.add().data.text.raw = text
        return message

    async def client(index: int) -> None:
        for r in range(rounds):
            started = time.perf_counter()
            response = await calls[index](
                request(texts[(index + r * clients) % len(texts)]), metadata=metadata
            )
            assert response.status.code == 10000, response.status
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(client(i) for i in range(clients)))  # warm-up
    latencies.clear()
    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    for channel in channels:
        await channel.close()
    return clients * rounds / elapsed, latencies


def run(
    clients: int = 64, rounds: int = 8, repeats: int = 3, results_dir: Path = RESULTS_DIR
) -> str:
    texts = sentences(max(clients, 64), seed=1)
    single, batched = model_ceiling(texts[:64], repeats)
    ceiling = batched / single
    results = {}
    for label, enabled in (("off", "0"), ("on", "1")):
        with served(CLARION_DYNAMIC_BATCHING=enabled, CLARION_PRELOAD="all-minilm-l6-v2") as server:
            runs = [
                asyncio.run(_load(server.grpc_port, server.pat, texts, clients, rounds))
                for _ in range(repeats)
            ]
        rates = [rate for rate, _ in runs]
        p99 = statistics.median(percentile(lat, 99) for _, lat in runs)
        results[label] = (statistics.median(rates), p99)
    gain = results["on"][0] / results["off"][0]
    rows = [
        ["model in-process, one at a time", f"{single:.0f}", "", ""],
        ["model in-process, batches (ceiling)", f"{batched:.0f}", f"{ceiling:.2f}x", ""],
        [f"server, {clients} clients, batcher off", f"{results['off'][0]:.0f}", "1.00x",
         f"{results['off'][1] * 1000:.0f} ms"],
        [f"server, {clients} clients, batcher on", f"{results['on'][0]:.0f}", f"{gain:.2f}x",
         f"{results['on'][1] * 1000:.0f} ms"],
        ["batcher gain / model ceiling", f"{gain / ceiling:.2f}", "", ""],
    ]  # fmt: skip
    return write_table(
        "batching",
        "Dynamic batching: concurrent single-sentence embedding requests",
        ["path", "embeddings/s", "gain", "p99 latency"],
        rows,
        results_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.clients, args.rounds, args.repeats)


if __name__ == "__main__":
    main()
