"""Cold start to ready with every built-in model preloaded, and the server's memory then.

    python -m benchmarks.startup [--repeats 3]

Each repeat starts ``clarion serve`` with ``CLARION_PRELOAD=all`` in a fresh home and times
from launching the process to ``/readyz`` answering 200 (every preloaded model loaded). The
resident memory is then read from ``/proc/<pid>/status``: ``RssFile`` holds the memory-mapped
weights (the chat model's GGUF among them), ``RssAnon`` the rest (the KV cache included).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import httpx

from benchmarks.common import RESULTS_DIR, served, write_table
from benchmarks.targets import Figures


def rss_mib(pid: int) -> dict[str, float]:
    """``VmRSS``, ``RssAnon`` and ``RssFile`` of a process, in MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def _ready(url: str) -> bool:
    """Whether ``/readyz`` says ready; a server busy loading may answer late."""
    try:
        return httpx.get(url, timeout=30).status_code == 200
    except httpx.TimeoutException:
        return False


def _ready_seconds_and_memory() -> tuple[float, dict[str, float]]:
    began = time.perf_counter()
    with served(CLARION_PRELOAD="all") as server:
        url = f"http://127.0.0.1:{server.rest_port}/readyz"
        deadline = time.monotonic() + 300
        while not _ready(url):
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not become ready within 300 s")
            time.sleep(0.02)
        ready = time.perf_counter() - began
        return ready, rss_mib(server.pid)


def run(repeats: int = 3, results_dir: Path = RESULTS_DIR, figures: Figures | None = None) -> str:
    samples = [_ready_seconds_and_memory() for _ in range(repeats)]
    ready = statistics.median(s for s, _ in samples)
    memory = {k: statistics.median(m[k] for _, m in samples) for k in samples[0][1]}
    if figures is not None:
        figures["startup.ready_s"] = ready
        figures["startup.rss_mib"] = memory["VmRSS"]
    return write_table(
        "startup",
        "Cold start with every built-in model preloaded (CLARION_PRELOAD=all)",
        ["launch to /readyz 200 (s)", "RSS (MiB)", "of which anonymous", "of which file-mapped"],
        [[f"{ready:.2f}", f"{memory['VmRSS']:.0f}", f"{memory['RssAnon']:.0f}",
          f"{memory['RssFile']:.0f}"]],
        results_dir,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    run(args.repeats)


if __name__ == "__main__":
    main()
