"""Generation at 1, 4 and 8 concurrent requests: the server vs in-process, and vs a peer.

    python -m benchmarks.llm [--repeats N] [--max-tokens N] [--levels 1,4,8]
                             [--stream-tokens 128] [--skip-peer]

In-process, N prompts go to the runner as one batch (they share the engine's parallel
slots); through the server, N clients each send one request over gRPC at the same time.

The peer is llama.cpp's own OpenAI-compatible HTTP server (xllamacpp's listener, see
``benchmarks.llamacpp``) on the same GGUF file with the same slots, context, threads and
prompt cache. One client harness (``benchmarks.streams``) streams to it over
``/v1/chat/completions``, then to Clarion over ``/v1/chat/completions`` and over the Clarifai
``GenerateModelOutputs`` gRPC stream: N clients at once, each on its own kept-alive
connection, measuring tokens/s and time to first token. One engine runs at a time.
Greedy decoding everywhere, so every side generates the same tokens.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from clarifai_grpc.grpc.api import resources_pb2

from benchmarks import streams
from benchmarks.common import RESULTS_DIR, free_port, served, write_table
from benchmarks.llamacpp import llamacpp_server
from benchmarks.targets import Figures
from clarion.catalog.smollm import SMOLLM2
from clarion.client import Model
from clarion.config import Settings
from clarion.domain.generation import GenerationParams
from clarion.domain.values import Input, InputKind
from clarion.runners import LlmRunner
from clarion.server_thread import ServerThread

PROMPTS = [
    "What's the future of AI?",
    "Who was president of the United States in 1955?",
    "Correct this to standard English: She no went to the market.",
    "Summarize this: Jupiter is the fifth planet from the Sun and the largest in the Solar System.",
    "Translate this into French: What rooms do you have available?",
    "Write a short poem about the sea.",
    "Explain photosynthesis to a child.",
    "Give three tips for learning to cook.",
]


def _tokens_per_second(run: Callable[[], int], repeats: int) -> float:
    rates: list[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        tokens = run()
        rates.append(tokens / (time.perf_counter() - start))
    return statistics.median(rates)


def run(
    repeats: int = 3,
    max_tokens: int = 64,
    levels: tuple[int, ...] = (1, 4, 8),
    results_dir: Path = RESULTS_DIR,
) -> str:
    settings = Settings.from_env(
        {"CLARION_HOME": tempfile.mkdtemp(prefix="clarion-bench-")}, grpc_port=0, rest_port=0
    )
    params = GenerationParams(max_tokens=max_tokens, do_sample=False)
    wire_params = {"max_tokens": max_tokens, "do_sample": False}
    rows = []
    runner = LlmRunner.from_spec(SMOLLM2.spec(settings), settings)
    runner.load()
    in_process = {}
    for n in levels:
        inputs = [Input(str(i), InputKind.TEXT, PROMPTS[i % len(PROMPTS)]) for i in range(n)]

        def local(inputs: list[Input] = inputs) -> int:
            return sum(o.completion_tokens for o in runner.predict(inputs, params))

        local()  # warm the prompt cache, as the server run below will be
        in_process[n] = _tokens_per_second(local, repeats)
    runner.close()

    with ServerThread(settings) as server:
        models = [
            Model(model_id=SMOLLM2.model_id, pat=server.pat, base_url=server.grpc_url)
            for _ in range(max(levels))
        ]

        def remote(n: int) -> int:
            counts = [0] * n

            def one(i: int) -> None:
                item = resources_pb2.Input(
                    data=resources_pb2.Data(text=resources_pb2.Text(raw=PROMPTS[i % len(PROMPTS)]))
                )
                response = models[i].predict([item], inference_params=wire_params)
                counts[i] = response.outputs[0].completion_tokens

            threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sum(counts)

        for n in levels:
            remote(n)
            served = _tokens_per_second(functools.partial(remote, n), repeats)
            rows.append(
                [str(n), f"{in_process[n]:.0f}", f"{served:.0f}", f"{served / in_process[n]:.2f}"]
            )
        for model in models:
            model.close()
    return write_table(
        "llm",
        f"SmolLM2-135M-Instruct generation, greedy, up to {max_tokens} tokens per request",
        ["concurrent requests", "in-process tokens/s", "server (gRPC) tokens/s", "ratio"],
        rows,
        results_dir,
    )


def run_peer(
    repeats: int = 3,
    max_tokens: int = 128,
    levels: tuple[int, ...] = (1, 4, 8),
    results_dir: Path = RESULTS_DIR,
    figures: Figures | None = None,
) -> str:
    """Clarion's chat streams (OpenAI SSE and Clarifai gRPC) vs llama.cpp's own server."""
    settings = Settings.from_env(
        {**os.environ, "CLARION_HOME": tempfile.mkdtemp(prefix="clarion-bench-")},
        grpc_port=0,
        rest_port=0,
    )
    engine = LlmRunner.from_spec(SMOLLM2.spec(settings), settings).engine.config
    model = SMOLLM2.model_id
    # Both servers run at once and take turns round by round.
    with llamacpp_server(engine, free_port()) as url, served(CLARION_PRELOAD=model) as server:
        rest = f"http://127.0.0.1:{server.rest_port}"
        bearer = {"Authorization": f"Bearer {server.pat}"}
        loads = streams.measure(
            {
                "peer": streams.openai_chat(url, model, max_tokens, {}),
                "openai": streams.openai_chat(rest, model, max_tokens, bearer),
                "grpc": streams.clarifai_generate(server.grpc_port, model, max_tokens, server.pat),
            },
            PROMPTS,
            levels,
            repeats,
        )
    peer, openai, grpc_stream = loads["peer"], loads["openai"], loads["grpc"]
    rows = []
    for n in levels:
        ref, ours, theirs = peer[n], openai[n], grpc_stream[n]
        if figures is not None:
            for path, load in (("openai", ours), ("grpc", theirs)):
                figures[f"chat.{path}.tps_ratio.{n}"] = load.tokens_per_s / ref.tokens_per_s
                figures[f"chat.{path}.ttft_ratio.{n}"] = ref.ttft_p50_s / load.ttft_p50_s
        rows.append(
            [
                str(n),
                f"{ref.tokens_per_s:.0f}",
                f"{ours.tokens_per_s:.0f} ({ours.tokens_per_s / ref.tokens_per_s:.2f})",
                f"{theirs.tokens_per_s:.0f} ({theirs.tokens_per_s / ref.tokens_per_s:.2f})",
                f"{ref.ttft_p50_s * 1000:.0f} / {ours.ttft_p50_s * 1000:.0f}"
                f" / {theirs.ttft_p50_s * 1000:.0f}",
            ]
        )
    return write_table(
        "llm-peer",
        f"SmolLM2-135M-Instruct chat streams, greedy, up to {max_tokens} tokens:"
        " Clarion vs llama.cpp's own server, same GGUF and slots",
        [
            "concurrent streams",
            "llama.cpp server tokens/s",
            "Clarion OpenAI SSE tokens/s (ratio)",
            "Clarion Clarifai gRPC tokens/s (ratio)",
            "TTFT p50 ms (llama.cpp / OpenAI / gRPC)",
        ],
        rows,
        results_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--stream-tokens", type=int, default=128)
    parser.add_argument("--levels", default="1,4,8")
    parser.add_argument("--skip-peer", action="store_true", help="leave out llama.cpp's server")
    args = parser.parse_args()
    levels = tuple(int(x) for x in args.levels.split(","))
    run(args.repeats, args.max_tokens, levels)
    if not args.skip_peer:
        run_peer(args.repeats, args.stream_tokens, levels)


if __name__ == "__main__":
    main()
