"""One client harness for streamed generation, whatever the target speaks.

A target is a :data:`Connector`: it opens one client connection (an HTTP client or a gRPC
channel, kept for the whole run) and returns how to stream one prompt over it, and how to
close it. Streaming yields text pieces (``str``) as they arrive and, where the target reports
it, the stream's completion-token count (``int``). The harness runs ``n`` such clients at
once, each on its own connection and thread, and measures aggregate tokens/s and each
stream's time to its first non-empty piece; several targets take turns round by round.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from clarifai_grpc.channel.clarifai_channel import ClarifaiChannel
from clarifai_grpc.grpc.api import resources_pb2, service_pb2, service_pb2_grpc
from google.protobuf import struct_pb2

from benchmarks.common import percentile

#: The fewest measured rounds a level has, whatever ``repeats`` asks for.
MIN_ROUNDS = 3

Stream = Callable[[str], Iterator[str | int]]
Connector = Callable[[], tuple[Stream, Callable[[], None]]]


@dataclass(frozen=True)
class StreamLoad:
    tokens_per_s: float
    ttft_p50_s: float


def openai_chat(base_url: str, model: str, max_tokens: int, headers: dict[str, str]) -> Connector:
    """``POST /v1/chat/completions`` with ``stream``, greedy, over one kept-alive connection."""

    def connect() -> tuple[Stream, Callable[[], None]]:
        client = httpx.Client(base_url=base_url, headers=headers, timeout=300, trust_env=False)

        def stream(prompt: str) -> Iterator[str | int]:
            body = {
                "model": model,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": max_tokens,
                "temperature": 0,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            with _send_streamed(client, "/v1/chat/completions", body) as response:
                response.raise_for_status()
                for line in response.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    for choice in chunk.get("choices") or []:
                        content = (choice.get("delta") or {}).get("content")
                        if content:
                            yield content
                    if chunk.get("usage"):
                        yield int(chunk["usage"]["completion_tokens"])

        return stream, client.close

    return connect


@contextmanager
def _send_streamed(
    client: httpx.Client, path: str, body: dict[str, object]
) -> Iterator[httpx.Response]:
    """POST ``body``; the streamed response, closed on leaving. A kept-alive connection that
    the server closed while idle (llama.cpp's listener closes them after 5 s) fails before
    any byte of a response: the request is sent once more, on a fresh connection."""
    try:
        response = client.send(client.build_request("POST", path, json=body), stream=True)
    except httpx.RemoteProtocolError:
        response = client.send(client.build_request("POST", path, json=body), stream=True)
    try:
        yield response
    finally:
        response.close()


def clarifai_generate(port: int, model_id: str, max_tokens: int, pat: str) -> Connector:
    """The Clarifai ``GenerateModelOutputs`` stream over gRPC, with clarifai-grpc's own stub."""
    params = struct_pb2.Struct()
    params.update({"max_tokens": max_tokens, "temperature": 0})

    def connect() -> tuple[Stream, Callable[[], None]]:
        channel = ClarifaiChannel.get_insecure_grpc_channel(base="127.0.0.1", port=port)
        stub = service_pb2_grpc.V2Stub(channel)
        metadata = (("authorization", f"Key {pat}"),)

        def stream(prompt: str) -> Iterator[str | int]:
            request = service_pb2.PostModelOutputsRequest(
                user_app_id=resources_pb2.UserAppIDSet(user_id="clarion", app_id="main"),
                model_id=model_id,
                inputs=[
                    resources_pb2.Input(
                        data=resources_pb2.Data(text=resources_pb2.Text(raw=prompt))
                    )
                ],
                model=resources_pb2.Model(
                    model_version=resources_pb2.ModelVersion(
                        output_info=resources_pb2.OutputInfo(params=params)
                    )
                ),
            )
            for response in stub.GenerateModelOutputs(request, metadata=metadata):
                if response.status.code != 10000:
                    raise RuntimeError(f"GenerateModelOutputs: {response.status}")
                for output in response.outputs:
                    if output.data.text.raw:
                        yield output.data.text.raw
                    if output.completion_tokens:
                        yield int(output.completion_tokens)

        return stream, channel.close

    return connect


def _one_stream(stream: Stream, prompt: str, began: float) -> tuple[int, float]:
    """(completion tokens, seconds from ``began`` to the first non-empty piece)."""
    pieces, reported, first = 0, None, float("nan")
    for item in stream(prompt):
        if isinstance(item, int):
            reported = item
        else:
            if pieces == 0:
                first = time.perf_counter() - began
            pieces += 1
    return (reported if reported is not None else pieces), first


def measure(
    targets: Mapping[str, Connector],
    prompts: list[str],
    levels: tuple[int, ...],
    repeats: int,
    min_streams: int = 16,
) -> dict[str, dict[int, StreamLoad]]:
    """For each target and level ``n``: ``n`` clients stream one prompt each at once.

    The targets take turns: each round of a level runs every target's ``n`` streams, one
    target after another, so the box's drift over the run weighs on all of them alike; each
    round starts with the next target, so none always follows the same one. A level has
    ``repeats`` rounds (three at least, so that one slow round cannot set a median), or more
    so that its TTFT p50 comes from at least ``min_streams`` streams per target, after one
    warm-up round (the prompt cache and the connections). Figures: the median tokens/s over
    rounds, the p50 TTFT over all streams.
    """
    if repeats < 1 or not levels or not targets:
        raise ValueError("measure needs a target, a level and a repeat")
    most = max(levels)
    connections = {name: [connect() for _ in range(most)] for name, connect in targets.items()}
    results: dict[str, dict[int, StreamLoad]] = {name: {} for name in targets}
    try:
        for n in levels:
            rounds = max(repeats, MIN_ROUNDS, math.ceil(min_streams / n))
            rates: dict[str, list[float]] = {name: [] for name in targets}
            ttfts: dict[str, list[float]] = {name: [] for name in targets}
            names = list(connections)
            for round_index in range(rounds + 1):
                start = round_index % len(names)
                for name in names[start:] + names[:start]:
                    streams = connections[name]
                    rate, firsts = _round([stream for stream, _ in streams[:n]], prompts)
                    if round_index > 0:  # round 0 warms up
                        rates[name].append(rate)
                        ttfts[name].extend(firsts)
            for name in targets:
                results[name][n] = StreamLoad(
                    statistics.median(rates[name]), percentile(ttfts[name], 50)
                )
    finally:
        for streams in connections.values():
            for _, close in streams:
                close()
    return results


def _round(streams: list[Stream], prompts: list[str]) -> tuple[float, list[float]]:
    """``len(streams)`` streams at once, one prompt each: (tokens/s, each one's TTFT)."""
    n = len(streams)
    outcome: list[tuple[int, float] | BaseException] = [(0, 0.0)] * n
    gate = threading.Barrier(n + 1)

    def client(i: int) -> None:
        gate.wait()
        try:
            outcome[i] = _one_stream(streams[i], prompts[i % len(prompts)], time.perf_counter())
        except BaseException as exc:  # reported below, on the caller's thread
            outcome[i] = exc

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    gate.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    done = [o for o in outcome if not isinstance(o, BaseException)]
    if len(done) < n:
        raise next(o for o in outcome if isinstance(o, BaseException))
    return sum(tokens for tokens, _ in done) / elapsed, [first for _, first in done]
