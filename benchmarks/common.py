"""Helpers shared by the benchmarks: timing with medians, sample sentences, result tables."""

from __future__ import annotations

import contextlib
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clarion.runtime import LocalBackend, Runner
from clarion.server_thread import ServerThread

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


def served_runners(server: ServerThread) -> list[Runner[Any]]:
    """The runners a running server has loaded: an in-process path that calls one of them
    shares the server's sessions, weights and threads, so only the server's own path differs."""
    assert server.server is not None, "the server is running"
    backend = server.server.core.backend
    assert isinstance(backend, LocalBackend)
    return backend.loaded_runners()


def paired_median_seconds(
    fns: Sequence[Callable[[], object]], repeats: int, warmup: int = 1
) -> list[float]:
    """The median time of each of ``fns``, run in turn within every round, so that the box's
    drift over the run weighs on all of them alike."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, samples, strict=True):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


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


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for peers that need one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def served(**env: str) -> Iterator[Served]:
    """``clarion serve`` in a subprocess (so clients and server do not share a GIL)."""
    pat = secrets.token_hex(16)
    home = tempfile.mkdtemp(prefix="clarion-bench-")
    environment = {
        **os.environ,
        "CLARION_HOME": home,
        "CLARION_PAT": pat,
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "clarion.cli.main", "serve", "--grpc-port", "0", "--rest-port", "0"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    text = ""
    deadline = time.monotonic() + 120
    while "Press Ctrl+C" not in text and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        text += line
    grpc_port = re.search(r"gRPC on https?://[^:]+:(\d+)", text)
    rest_port = re.search(r"REST on https?://[^:]+:(\d+)", text)
    if not grpc_port or not rest_port:
        process.kill()
        raise RuntimeError(f"clarion serve did not start:\n{text}")
    drain = threading.Thread(target=lambda: [None for _ in process.stdout or []], daemon=True)
    drain.start()
    try:
        yield Served(int(grpc_port.group(1)), int(rest_port.group(1)), pat, process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        drain.join(timeout=5)
        process.stdout.close()


@dataclass(frozen=True)
class Served:
    grpc_port: int
    rest_port: int
    pat: str
    pid: int

    def rss_bytes(self) -> int:
        """The server process's resident memory now (Linux ``/proc``)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("VmRSS not found")
