"""Protocol overhead: a trivial request over gRPC and REST, Clarion next to bare servers.

    python -m benchmarks.protocol [--calls 300]

Clarion answers GetModelType (key checked, registry not touched) over gRPC and
``GET /v2/models/types/text-embedder`` over REST; the references are a bare grpc.aio echo
and a bare uvicorn + Starlette echo, each in its own process. c=1 is the median latency of
sequential calls; c=16 is the throughput of 16 clients, each with its own connection.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import grpc
import httpx

from benchmarks.common import RESULTS_DIR, served, write_table
from clarion.rpcs import RPCS

Call = Callable[[], object]
#: Makes one client connection: its call, and how to close it.
Maker = Callable[[], tuple[Call, Callable[[], None]]]


@contextmanager
def echo_server(kind: str) -> Iterator[int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.echo_servers", kind],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    try:
        yield int(line.split()[1])
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()


def grpc_caller(
    port: int, method: str, request: bytes, metadata: tuple[tuple[str, str], ...]
) -> Maker:
    def make() -> tuple[Call, Callable[[], None]]:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        call = channel.unary_unary(method)
        return (lambda: call(request, metadata=metadata)), channel.close

    return make


def rest_caller(port: int, path: str, headers: dict[str, str]) -> Maker:
    def make() -> tuple[Call, Callable[[], None]]:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers)
        return (lambda: client.get(path).raise_for_status()), client.close

    return make


def measure(make: Maker, calls: int) -> tuple[float, float]:
    """(median c=1 latency in ms, c=16 requests/s), over 17 connections closed afterwards."""
    connections = [make() for _ in range(17)]
    try:
        return _measure([call for call, _ in connections], calls)
    finally:
        for _, close in connections:
            close()


def _measure(connections: list[Call], calls: int) -> tuple[float, float]:
    one, callers = connections[0], connections[1:]
    for _ in range(20):
        one()
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        one()
        samples.append(time.perf_counter() - started)
    for c in callers:
        c()

    def worker(c: Call) -> None:
        for _ in range(calls // 4):
            c()

    threads = [threading.Thread(target=worker, args=(c,)) for c in callers]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = len(callers) * (calls // 4) / (time.perf_counter() - started)
    return statistics.median(samples) * 1000, rate


def run(calls: int = 300, results_dir: Path = RESULTS_DIR) -> str:
    rpc = RPCS["GetModelType"]
    request = rpc.request_class(model_type_id="text-embedder").SerializeToString()
    rows = []
    with echo_server("grpc") as port:
        bare_grpc = measure(grpc_caller(port, "/echo.Echo/Echo", request, ()), calls)
    with echo_server("rest") as port:
        bare_rest = measure(rest_caller(port, "/echo", {}), calls)
    with served() as server:
        metadata = (("authorization", f"Key {server.pat}"),)
        clarion_grpc = measure(
            grpc_caller(server.grpc_port, "/clarifai.api.V2/GetModelType", request, metadata), calls
        )
        clarion_rest = measure(
            rest_caller(
                server.rest_port,
                "/v2/models/types/text-embedder",
                {"Authorization": f"Key {server.pat}"},
            ),
            calls,
        )
    for name, bare, ours in (("gRPC", bare_grpc, clarion_grpc), ("REST", bare_rest, clarion_rest)):
        rows.append([f"{name}, bare echo", f"{bare[0]:.2f}", f"{bare[1]:.0f}", "1.00"])
        rows.append(
            [f"{name}, Clarion", f"{ours[0]:.2f}", f"{ours[1]:.0f}", f"{ours[1] / bare[1]:.2f}"]
        )
    return write_table(
        "protocol",
        "Protocol overhead: a trivial authenticated request vs a bare echo server",
        ["server", "c=1 median latency (ms)", "c=16 requests/s", "throughput ratio"],
        rows,
        results_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    run(args.calls)


if __name__ == "__main__":
    main()
