"""The built-in chat models side by side: load time, single-stream speed, memory, answers.

    python -m benchmarks.chat_models [--repeats N] [--max-tokens N] [--models ID,ID]

Each model runs in a fresh subprocess through Clarion's own runner and engine settings (its
slots and context per slot), so peak RSS is that model's alone: it is read after the model
has loaded and all its slots have generated at once. Decode speed is llama.cpp's own count
for the generation phase of one request at a time (greedy); the answers are the greedy
replies to the seed's four example prompts.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import RESULTS_DIR, write_table

CHAT_MODELS = ("qwen2.5-coder-1.5b-instruct", "smollm2-135m-instruct")
JUPITER = (
    "Summarize this: Jupiter is the fifth planet from the Sun and the largest in the Solar "
    "System. It is a gas giant with a mass one-thousandth that of the Sun, but two-and-a-half "
    "times that of all the other planets in the Solar System combined. Jupiter is one of the "
    "brightest objects visible to the naked eye in the night sky, and has been known to "
    "ancient civilizations since before recorded history. It is named after the Roman god "
    "Jupiter. When viewed from Earth, Jupiter can be bright enough for its reflected light to "
    "cast visible shadows, and is on average the third-brightest natural object in the night "
    "sky after the Moon and Venus."
)
SEED_PROMPTS = (
    "Who was president of the United States in 1955?",
    "Correct this to standard English: She no went to the market.",
    JUPITER,
    "Translate this into 1. French, 2. Spanish, and 3. Japanese: What rooms do you have available?",
)
SPEED_PROMPT = "Write a story of about 300 words about a lighthouse keeper."


def measure(model_id: str, repeats: int, max_tokens: int, answer_tokens: int) -> dict[str, Any]:
    """Runs in the child process: one model, loaded once."""
    from clarion.catalog import BUILTIN_MODELS
    from clarion.config import Settings
    from clarion.domain.generation import GenerationParams
    from clarion.domain.values import Input, InputKind
    from clarion.runners import LlmRunner

    home = tempfile.mkdtemp(prefix="clarion-bench-")
    settings = Settings.from_env({**os.environ, "CLARION_HOME": home})
    builtin = next(m for m in BUILTIN_MODELS if m.model_id == model_id)
    runner = LlmRunner.from_spec(builtin.spec(settings), settings)
    start = time.perf_counter()
    runner.load()
    load_s = time.perf_counter() - start
    try:
        rates = []
        for i in range(repeats):
            request = {
                "prompt": runner.engine.tokenize(
                    runner.engine.render_chat([{"role": "user", "content": SPEED_PROMPT}])
                ),
                "n_predict": max_tokens,
                "temperature": 0.0,
                "top_k": 1,
                "cache_prompt": False,
                "ignore_eos": True,
                "seed": i,
            }
            timings = runner.engine.complete(request).get("timings") or {}
            rates.append(float(timings.get("predicted_per_second", 0.0)))
        slots = runner.engine.config.n_parallel
        everyone = [Input(str(i), InputKind.TEXT, SPEED_PROMPT) for i in range(slots)]
        runner.predict(everyone, GenerationParams(do_sample=False, max_tokens=max_tokens))
        greedy = GenerationParams(do_sample=False, max_tokens=answer_tokens)
        answers = runner.predict(
            [Input(str(i), InputKind.TEXT, p) for i, p in enumerate(SEED_PROMPTS)], greedy
        )
    finally:
        runner.close()
    return {
        "model": model_id,
        "file_mb": Path(builtin.spec(settings)["model_path"]).stat().st_size / 2**20,
        "slots": runner.engine.config.n_parallel,
        "ctx": runner.engine.config.n_ctx_per_slot,
        "load_s": load_s,
        "decode_tps": statistics.median(rates),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "answers": [(a.text or "").strip() for a in answers],
    }


def run(
    repeats: int = 3,
    max_tokens: int = 128,
    answer_tokens: int = 200,
    models: tuple[str, ...] = CHAT_MODELS,
    results_dir: Path = RESULTS_DIR,
) -> str:
    results = []
    for model_id in models:
        command = [sys.executable, "-m", "benchmarks.chat_models", "--child", model_id]
        command += ["--repeats", str(repeats), "--max-tokens", str(max_tokens)]
        command += ["--answer-tokens", str(answer_tokens)]
        child = subprocess.run(command, capture_output=True, text=True, check=True)
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
    base = results[-1]["decode_tps"] or 1.0
    rows = [
        [
            f"`{r['model']}`",
            f"{r['file_mb']:.0f} MiB",
            f"{r['slots']} x {r['ctx']}",
            f"{r['load_s']:.2f} s",
            f"{r['decode_tps']:.1f}",
            f"{r['decode_tps'] / base:.2f}x",
            f"{r['peak_rss_mb']:.0f} MiB",
        ]
        for r in results
    ]
    header = ["model", "file", "slots x context", "load", "decode tokens/s (1 stream)"]
    header += [f"vs {results[-1]['model']}", "peak RSS (all slots busy)"]
    table = write_table("chat_models", "Built-in chat models", header, rows, results_dir)
    answers = ["", "#### Greedy answers to the seed's prompts", ""]
    for r in results:
        answers.append(f"**{r['model']}**")
        answers.append("")
        for prompt, answer in zip(SEED_PROMPTS, r["answers"], strict=True):
            answers.append(f"- _{prompt[:60]}{'...' if len(prompt) > 60 else ''}_")
            answers.append("  " + answer.replace("\n", "\n  "))
        answers.append("")
    text = table + "\n".join(answers)
    (results_dir / "chat_models.md").write_text(text)
    print("\n".join(answers))
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--answer-tokens", type=int, default=200)
    parser.add_argument("--models", default=",".join(CHAT_MODELS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.repeats, args.max_tokens, args.answer_tokens)))
        return
    run(args.repeats, args.max_tokens, args.answer_tokens, tuple(args.models.split(",")))


if __name__ == "__main__":
    main()
