"""Helpers shared by the benchmarks: timing with medians, sample sentences, result tables."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

RESULTS_DIR = Path(__file__).parent / "results"

_WORDS = [
    *("model", "server", "request", "batch", "token", "vector", "image", "text", "fast"),
    *("small", "large", "network", "local", "private", "green", "revolution", "wheat"),
    *("farmer", "river", "city", "market", "future", "machine", "learning", "question"),
    *("answer", "summary", "translate", "correct", "price", "weather", "morning", "evening"),
]


def sentences(count: int, seed: int = 0) -> list[str]:
    """``count`` sentences of 8 to 24 words, the same for a given seed."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(_WORDS, k=rng.randint(8, 24))) + "." for _ in range(count)]


def median_seconds(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def write_table(
    name: str,
    title: str,
    header: list[str],
    rows: list[list[str]],
    results_dir: Path = RESULTS_DIR,
) -> str:
    """Render a markdown table, print it and save it as ``<results_dir>/<name>.md``."""
    lines = [
        f"### {title}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
        f"_measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, medians over repeats, one run_",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / f"{name}.md").write_text(text)
    return text
