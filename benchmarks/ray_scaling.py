"""Scaling on a Ray cluster: one vs two replicas of MiniLM, and the cluster's memory.

    RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=... python -m benchmarks.ray_scaling --ray-address ADDR

``ADDR`` is a running cluster of (at least) two nodes, started as in the README's "Run on a
Ray cluster", with enough logical CPUs for every built-in model (one per replica, e.g.
``--num-cpus 4`` on each of two nodes). Through one Clarion front end it measures:

- the throughput of one-sentence embeddings at 16 concurrent gRPC clients with MiniLM on one
  replica, then on two (set with ``PostDeployments``, as ``clarion models deploy`` does),
  and the nodes the replicas ran on; from the per-replica figure, what N nodes would serve
  when each node adds what one replica serves here;
- the resident memory of the Ray processes on this host: the idle cluster, and with every
  built-in model deployed (each answered one request), plus the front end's own.

The cluster should be the benchmark's own: every Serve application on it is deleted before
the idle figure and at the end (applications outlive the front ends that asked for them).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import grpc
import httpx
from clarifai_grpc.grpc.api import service_pb2

from benchmarks.batching import _load
from benchmarks.common import RESULTS_DIR, Served, sentences, served, write_table
from benchmarks.ray_cluster import arguments, delete_applications, ray_rss_bytes
from clarion.client import Model
from clarion.client.channel import V2Client
from clarion.domain.scaling import ScalingSettings

MINILM = "all-minilm-l6-v2"
#: One small request per built-in model deploys it (a text or an image input).
BUILT_INS = {
    "all-minilm-l6-v2": "text",
    "general-image-recognition": "image",
    "general-image-embedding": "image",
    "smollm2-135m-instruct": "text",
    "qwen2.5-coder-1.5b-instruct": "text",
}
#: A 1x1 PNG, enough to deploy an image model.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de0000000c4944415408d7"
    "63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def _replicas(server: Served, version_id: str) -> list[dict[str, object]]:
    """The replicas of ``version_id`` as ``/readyz`` (with a key) lists them."""
    answer = httpx.get(
        f"http://127.0.0.1:{server.rest_port}/readyz",
        headers={"authorization": f"Key {server.pat}"},
        timeout=30,
    )
    for model in answer.json().get("models", []):
        if model["version_id"] == version_id:
            return list(model["replicas"])
    return []


def _scale(server: Served, replicas: int, wait_s: float = 180) -> tuple[str, list[str]]:
    """Set MiniLM's replicas and wait until that many run; (version id, their node ids)."""
    with Model(model_id=MINILM, pat=server.pat, base_url=f"127.0.0.1:{server.grpc_port}") as m:
        version_id = m.deploy(ScalingSettings(min_replicas=replicas, max_replicas=replicas)).id
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        running = [r for r in _replicas(server, version_id) if r["state"] == "RUNNING"]
        if len(running) == replicas:
            return version_id, [str(r["node_id"])[:8] for r in running]
        time.sleep(1.0)
    raise RuntimeError(f"{MINILM} did not reach {replicas} running replicas in {wait_s:g} s")


def _throughput(server: Served, texts: list[str], rounds: int, repeats: int) -> float:
    asyncio.run(_load(server.grpc_port, server.pat, texts, 16, 2))  # warm the replicas
    rates = [
        asyncio.run(_load(server.grpc_port, server.pat, texts, 16, rounds))[0]
        for _ in range(repeats)
    ]
    return statistics.median(rates)


def _deploy(server: Served, models: dict[str, str]) -> None:
    metadata = (("authorization", f"Key {server.pat}"),)
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        v2 = V2Client(channel)
        for model_id, kind in models.items():
            request = service_pb2.PostModelOutputsRequest(model_id=model_id)
            request.user_app_id.user_id, request.user_app_id.app_id = "clarion", "main"
            if kind == "text":
                request.inputs.add().data.text.raw = "hello"
            else:
                request.inputs.add().data.image.base64 = PIXEL
            response = v2.PostModelOutputs(request, metadata=metadata, timeout=600)
            if response.status.code != 10000:
                raise RuntimeError(f"{model_id} did not deploy: {response.status}")


def run(
    ray_address: str,
    rounds: int = 16,
    repeats: int = 3,
    models: dict[str, str] = BUILT_INS,
    results_dir: Path = RESULTS_DIR,
) -> str:
    """``models``: the models deployed for the second memory figure (id: input kind)."""
    texts = sentences(64, seed=3)
    delete_applications(ray_address)
    idle = ray_rss_bytes()
    env = {"CLARION_RAY_ADDRESS": ray_address, "CLARION_LOAD_WAIT_S": "600"}
    with served(CLARION_PRELOAD=MINILM, **env) as server:
        version_id, one_node = _scale(server, 1)
        one = _throughput(server, texts, rounds, repeats)
        _, two_nodes = _scale(server, 2)
        two = _throughput(server, texts, rounds, repeats)
        _deploy(server, models)
        time.sleep(2.0)
        every = ray_rss_bytes()
        front_end = server.rss_bytes()
    delete_applications(ray_address)
    mib = 1024 * 1024
    rows = [
        ["1 replica", ", ".join(one_node), f"{one:.0f}", "1.00"],
        ["2 replicas", ", ".join(two_nodes), f"{two:.0f}", f"{two / one:.2f}"],
        *(
            [f"{n} nodes (on paper)", f"one replica each at {one:.0f}/s", f"{n * one:.0f}",
             f"{n:.2f}"]
            for n in (4, 8)
        ),
        ["memory: idle cluster", "Ray processes on this host", f"{idle / mib:.0f} MiB", ""],
        [f"memory: {', '.join(models) or 'nothing more'} deployed", "Ray processes on this host",
         f"{every / mib:.0f} MiB", ""],
        ["memory: the front end", f"version {version_id[:8]}", f"{front_end / mib:.0f} MiB", ""],
    ]  # fmt: skip
    return write_table(
        "ray_scaling",
        "Scaling on Ray: one-sentence embeddings at 16 clients, and memory",
        ["setting", "replicas on nodes", "embeddings/s (memory)", "ratio"],
        rows,
        results_dir,
    )


def main() -> None:
    args = arguments(__doc__)
    print(run(args.ray_address, args.rounds, args.repeats))


if __name__ == "__main__":
    main()
