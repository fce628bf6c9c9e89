"""Aggregate generation throughput at 1, 4 and 8 concurrent requests: server vs in-process.

    python -m benchmarks.llm [--repeats N] [--max-tokens N] [--levels 1,4,8]

In-process, N prompts go to the runner as one batch (they share the engine's parallel
slots); through the server, N clients each send one request over gRPC at the same time.
Greedy decoding, so both sides generate the same tokens.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

from clarifai_grpc.grpc.api import resources_pb2

from benchmarks.common import RESULTS_DIR, write_table
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


def _tokens_per_second(run: object, repeats: int) -> float:
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        tokens = run()  # type: ignore[operator]
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
            served = _tokens_per_second(lambda n=n: remote(n), repeats)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--levels", default="1,4,8")
    args = parser.parse_args()
    run(args.repeats, args.max_tokens, tuple(int(x) for x in args.levels.split(",")))


if __name__ == "__main__":
    main()
