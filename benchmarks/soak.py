"""Soak: thousands of mixed requests at a steady concurrency against one `clarion serve`.

    python -m benchmarks.soak [--requests 5000] [--concurrency 32] [--seed 0]

The mix: embeddings (gRPC and OpenAI REST), image recognition, unary generation (gRPC and
OpenAI chat), streams read to the end, streams the client cancels after a few pieces, input
uploads, trainings, and a share of bad requests (wrong key, unknown model, invalid
parameter, malformed JSON). Every answer is tallied by status; each kind has the statuses
it should get, anything else is counted as unexpected. The server's RSS is read after a
warm-up (the first tenth of the requests) and at the end, and the inputs the models still
hold admitted after the run (``clarion_in_flight_inputs``; any is a leaked place). Targets:
0 unexpected statuses, 0 places held, RSS growth under 10%.

The chat model admits twice as many inputs as there are clients. With exactly as many, a
client that cancels a stream and sends its next request on another connection (REST after
gRPC) can reach the server before the cancel does: the server still counts the old stream
and rightly answers busy. That race says nothing about leaks; the places held after the run
do.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from PIL import Image

from benchmarks.common import RESULTS_DIR, Served, percentile, sentences, served, write_table
from clarion.client.channel import V2Client
from clarion.rpcs import RPCS

LLM = "smollm2-135m-instruct"
APP = ("me", "soak")


@dataclass
class Tally:
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


class Clients:
    """One gRPC channel and one HTTP client shared by every worker (as a real app would)."""

    def __init__(self, server: Served) -> None:
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}")
        self.v2 = V2Client(self.channel)  # every V2 RPC by name, awaited on this aio channel
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.rest_port}",
            timeout=300,
            limits=httpx.Limits(max_connections=64),
        )
        self.pat = server.pat
        self.metadata = (("authorization", f"Key {server.pat}"),)

    async def close(self) -> None:
        await self.channel.close()
        await self.http.aclose()


def _jpegs(count: int) -> list[bytes]:
    from skimage import data

    samples = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    out = []
    for n in range(count):
        buffer = io.BytesIO()
        image = Image.fromarray(samples[n % len(samples)]).convert("RGB")
        image.resize((320 + 16 * n, 240 + 12 * n)).save(buffer, format="JPEG", quality=85)
        out.append(buffer.getvalue())
    return out


def _predict_request(model_id: str, texts: list[str], params: dict[str, Any] | None = None) -> Any:
    request = RPCS["PostModelOutputs"].request_class()
    request.user_app_id.user_id, request.user_app_id.app_id = "clarion", "main"
    request.model_id = model_id
    for text in texts:
        request.inputs.add().data.text.raw = text
    if params:
        request.model.model_version.output_info.params.update(params)
    return request


Call = Callable[[Clients, random.Random], Awaitable[str]]


@dataclass(frozen=True)
class Kind:
    name: str
    weight: int
    expected: frozenset[str]
    call: Call


def _kinds(texts: list[str], photos: list[bytes]) -> list[Kind]:
    async def embed(c: Clients, rng: random.Random) -> str:
        request = _predict_request("all-minilm-l6-v2", rng.sample(texts, rng.randint(1, 8)))
        response = await c.v2.PostModelOutputs(request, metadata=c.metadata)
        return str(response.status.code)

    async def embed_openai(c: Clients, rng: random.Random) -> str:
        body = {"model": "all-minilm-l6-v2", "input": rng.sample(texts, rng.randint(1, 4))}
        response = await c.http.post("/v1/embeddings", json=body, headers=_bearer(c))
        return f"HTTP {response.status_code}"

    async def image(c: Clients, rng: random.Random) -> str:
        request = _predict_request("general-image-recognition", [])
        for photo in rng.sample(photos, rng.randint(1, 4)):
            request.inputs.add().data.image.base64 = photo
        response = await c.v2.PostModelOutputs(request, metadata=c.metadata)
        return str(response.status.code)

    async def generate(c: Clients, rng: random.Random) -> str:
        request = _predict_request(LLM, [rng.choice(texts)], {"max_tokens": 16})
        response = await c.v2.PostModelOutputs(request, metadata=c.metadata)
        return str(response.status.code)

    async def chat_openai(c: Clients, rng: random.Random) -> str:
        body = {
            "model": LLM,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": rng.choice(texts)}],
        }
        response = await c.http.post("/v1/chat/completions", json=body, headers=_bearer(c))
        return f"HTTP {response.status_code}"

    async def stream(c: Clients, rng: random.Random) -> str:
        request = _predict_request(LLM, [rng.choice(texts)], {"max_tokens": 24})
        codes = {
            r.status.code async for r in c.v2.GenerateModelOutputs(request, metadata=c.metadata)
        }
        return ",".join(str(code) for code in sorted(codes))

    async def stream_cancelled(c: Clients, rng: random.Random) -> str:
        request = _predict_request(LLM, [rng.choice(texts)], {"max_tokens": 400})
        call = c.v2.GenerateModelOutputs(request, metadata=c.metadata)
        pieces = 0
        codes: set[int] = set()
        async for response in call:
            pieces += 1
            codes.add(response.status.code)
            if pieces == 3:
                # The client leaves mid-answer, and waits for its cancel to go through
                # before it sends anything else (gRPC ends the call once the cancel is on
                # its way to the server), so its next request does not race its own cancel.
                call.cancel()
                await call.code()
                return "cancelled"
        if codes == {10000}:
            return "ended before the cancel"
        return ",".join(str(code) for code in sorted(codes))  # e.g. refused at once

    async def upload(c: Clients, rng: random.Random) -> str:
        request = RPCS["PostInputs"].request_class()
        request.user_app_id.user_id, request.user_app_id.app_id = APP
        if rng.random() < 0.3:
            request.inputs.add().data.image.base64 = rng.choice(photos)
        else:
            for text in rng.sample(texts, 4):
                request.inputs.add().data.text.raw = text
        response = await c.v2.PostInputs(request, metadata=c.metadata)
        return str(response.status.code)

    async def train(c: Clients, rng: random.Random) -> str:
        request = RPCS["PostModelVersions"].request_class(model_id="topic")
        request.user_app_id.user_id, request.user_app_id.app_id = APP
        response = await c.v2.PostModelVersions(request, metadata=c.metadata)
        return str(response.status.code)

    async def bad_key(c: Clients, rng: random.Random) -> str:
        request = _predict_request("all-minilm-l6-v2", [rng.choice(texts)])
        wrong = (("authorization", "Key " + "0" * 32),)
        response = await c.v2.PostModelOutputs(request, metadata=wrong)
        return str(response.status.code)

    async def bad_model(c: Clients, rng: random.Random) -> str:
        request = _predict_request("no-such-model", [rng.choice(texts)])
        response = await c.v2.PostModelOutputs(request, metadata=c.metadata)
        return str(response.status.code)

    async def bad_param(c: Clients, rng: random.Random) -> str:
        request = _predict_request(LLM, ["hi"], {"top_p": 1.5})
        response = await c.v2.PostModelOutputs(request, metadata=c.metadata)
        return str(response.status.code)

    async def bad_json(c: Clients, rng: random.Random) -> str:
        path = "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs"
        headers = {"authorization": f"Key {c.pat}", "content-type": "application/json"}
        response = await c.http.post(path, content=b'{"inputs": [{"data": ', headers=headers)
        return f"HTTP {response.status_code}"

    ok = frozenset({"10000"})
    return [
        Kind("embed (gRPC)", 25, ok, embed),
        Kind("embed (OpenAI)", 10, frozenset({"HTTP 200"}), embed_openai),
        Kind("image (gRPC)", 12, ok, image),
        Kind("generate (gRPC)", 6, ok, generate),
        Kind("chat (OpenAI)", 4, frozenset({"HTTP 200"}), chat_openai),
        Kind("stream", 4, ok, stream),
        Kind(
            "stream, cancelled",
            4,
            frozenset({"cancelled", "ended before the cancel"}),  # a short answer is fine
            stream_cancelled,
        ),
        Kind("upload inputs", 10, ok, upload),
        Kind("train", 1, ok, train),
        Kind("bad: wrong key", 6, frozenset({"11009"}), bad_key),
        Kind("bad: unknown model", 6, frozenset({"21200"}), bad_model),
        Kind("bad: invalid param", 6, frozenset({"21202"}), bad_param),
        Kind("bad: malformed JSON", 6, frozenset({"HTTP 400"}), bad_json),
    ]


def _bearer(c: Clients) -> dict[str, str]:
    return {"authorization": f"Bearer {c.pat}"}


async def _prepare(c: Clients, texts: list[str]) -> None:
    """An app with labelled inputs and a trained model, so trainings have work to do."""
    app = RPCS["PostApps"].request_class()
    app.apps.add(id=APP[1])
    assert (await c.v2.PostApps(app, metadata=c.metadata)).status.code == 10000
    inputs = RPCS["PostInputs"].request_class()
    inputs.user_app_id.user_id, inputs.user_app_id.app_id = APP
    for n, text in enumerate(texts[:24]):
        item = inputs.inputs.add(id=f"labelled-{n}")
        item.data.text.raw = text
        item.data.concepts.add(id="even" if n % 2 == 0 else "odd", value=1.0)
    assert (await c.v2.PostInputs(inputs, metadata=c.metadata)).status.code == 10000
    model = RPCS["PostModels"].request_class()
    model.user_app_id.user_id, model.user_app_id.app_id = APP
    created = model.models.add(id="topic", model_type_id="embedding-classifier")
    for concept in ("even", "odd"):
        created.output_info.data.concepts.add(id=concept)
    assert (await c.v2.PostModels(model, metadata=c.metadata)).status.code == 10000


async def _soak(
    server: Served, requests: int, concurrency: int, seed: int
) -> tuple[Tally, int, int, float, int]:
    rng = random.Random(seed)
    texts = sentences(256, seed)
    kinds = _kinds(texts, _jpegs(8))
    plan = rng.choices(kinds, weights=[k.weight for k in kinds], k=requests)
    warmup = max(1, requests // 10)
    clients = Clients(server)
    await _prepare(clients, texts)
    tally = Tally()
    next_index = 0
    warm = asyncio.Event()
    done_count = 0

    async def worker(worker_id: int) -> None:
        nonlocal next_index, done_count
        local = random.Random(seed * 1000 + worker_id)
        while next_index < len(plan):
            index = next_index
            next_index += 1
            if index >= warmup:
                await warm.wait()  # RSS is read between the warm-up and the rest
            kind = plan[index]
            started = time.perf_counter()
            try:
                outcome = await kind.call(clients, local)
            except grpc.aio.AioRpcError as exc:
                outcome = f"gRPC {exc.code().name}"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            elapsed = time.perf_counter() - started
            tally.statuses[kind.name][outcome] += 1
            if index >= warmup:
                tally.latencies[kind.name].append(elapsed)
            done_count += 1

    workers = [asyncio.create_task(worker(i)) for i in range(concurrency)]
    while done_count < warmup and not all(w.done() for w in workers):
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # let the warm-up's background work settle
    rss_warm = server.rss_bytes()
    warm.set()
    started = time.perf_counter()
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - started
    await asyncio.sleep(1.0)
    rss_end = server.rss_bytes()
    held = await _places_held(clients)
    await clients.close()
    return tally, rss_warm, rss_end, elapsed, held


async def _places_held(c: Clients) -> int:
    """Inputs every model version still counts as admitted (from ``/metrics``)."""
    metrics = await c.http.get("/metrics", headers=_bearer(c))
    return round(
        sum(
            float(line.rsplit(" ", 1)[1])
            for line in metrics.text.splitlines()
            if line.startswith("clarion_in_flight_inputs{")
        )
    )


def run(
    requests: int = 5000, concurrency: int = 32, seed: int = 0, results_dir: Path = RESULTS_DIR
) -> str:
    llm_places = str(2 * concurrency)
    with served(CLARION_PRELOAD="all", CLARION_LLM_QUEUE_SIZE=llm_places) as server:
        tally, rss_warm, rss_end, elapsed, held = asyncio.run(
            _soak(server, requests, concurrency, seed)
        )
    kinds = {k.name: k for k in _kinds([""], [b""])}
    rows = []
    unexpected_total = 0
    for name, kind in kinds.items():
        statuses = tally.statuses.get(name, Counter())
        if not statuses:
            continue
        unexpected = sum(n for s, n in statuses.items() if s not in kind.expected)
        unexpected_total += unexpected
        samples = tally.latencies.get(name) or [0.0]
        rows.append(
            [
                name,
                str(sum(statuses.values())),
                ", ".join(f"{s}: {n}" for s, n in statuses.most_common()),
                str(unexpected),
                f"{percentile(samples, 50) * 1000:.0f}",
                f"{percentile(samples, 99) * 1000:.0f}",
            ]
        )
    growth = (rss_end - rss_warm) / rss_warm * 100
    unexpected_total += held
    rows.append(["places held after the run", "", f"{held} inputs admitted", str(held), "", ""])
    total = sum(sum(c.values()) for c in tally.statuses.values())
    rows.append(
        [
            "**all**",
            str(total),
            f"{total / elapsed:.0f} req/s after warm-up",
            str(unexpected_total),
            "",
            "",
        ]
    )
    rows.append(
        [
            "server RSS",
            "",
            f"{rss_warm / 2**20:.0f} MiB after warm-up, {rss_end / 2**20:.0f} MiB at the end "
            f"({growth:+.1f}%)",
            "",
            "",
            "",
        ]
    )
    return write_table(
        "soak",
        f"Soak: {requests} mixed requests at {concurrency} concurrent",
        ["kind", "requests", "answers by status", "unexpected", "p50 ms", "p99 ms"],
        rows,
        results_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    run(args.requests, args.concurrency, args.seed)


if __name__ == "__main__":
    main()
