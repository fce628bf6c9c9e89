"""llama.cpp's own OpenAI-compatible HTTP server, as a peer: ``python -m benchmarks.llamacpp``.

The process starts xllamacpp's listener on 127.0.0.1 with the settings Clarion gives its
engine (slots, context per slot, threads, batch, prompt cache), prints ``listening <port>``
and serves until it is terminated. :func:`llamacpp_server` runs it as a subprocess.

    python -m benchmarks.llamacpp --model PATH.gguf --port 8080
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from clarion.runners.llm_engine import EngineConfig


def _serve(config: EngineConfig, port: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(config.model_path)
    params.n_parallel = config.n_parallel
    params.n_ctx = config.n_ctx_per_slot * config.n_parallel
    params.n_batch = 512
    threads = config.threads or (os.cpu_count() or 2)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.cache_ram_mib = config.cache_ram_mib
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.verbosity = 0
    params.warmup = False
    server = xllamacpp.Server(params)
    print(f"listening {port}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    del server


@contextmanager
def llamacpp_server(config: EngineConfig, port: int) -> Iterator[str]:
    """The server in a subprocess; yields its base URL once ``/health`` answers."""
    command = [sys.executable, "-m", "benchmarks.llamacpp", "--model", str(config.model_path),
               "--port", str(port), "--slots", str(config.n_parallel),
               "--ctx-per-slot", str(config.n_ctx_per_slot), "--threads", str(config.threads),
               "--cache-ram-mib", str(config.cache_ram_mib)]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"llama.cpp's server exited with {process.returncode}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama.cpp's server did not become healthy")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slots", type=int, default=EngineConfig.n_parallel)
    parser.add_argument("--ctx-per-slot", type=int, default=EngineConfig.n_ctx_per_slot)
    parser.add_argument("--threads", type=int, default=EngineConfig.threads)
    parser.add_argument("--cache-ram-mib", type=int, default=EngineConfig.cache_ram_mib)
    args = parser.parse_args()
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    config = EngineConfig(
        model_path=args.model,
        n_ctx_per_slot=args.ctx_per_slot,
        n_parallel=args.slots,
        threads=args.threads,
        cache_ram_mib=args.cache_ram_mib,
    )
    _serve(config, args.port)


if __name__ == "__main__":
    main()
