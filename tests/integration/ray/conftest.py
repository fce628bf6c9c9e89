"""A real two-node Ray cluster on this machine, for the Ray backend's tests.

A head (1 CPU) and a second node (1 CPU and a ``worker_node`` resource of its own) run as
``ray start --block`` children of the test process, with token authentication on, their own
temp dir, no dashboard, and every port chosen free and outside the range Ray's workers take.
At the end exactly those processes (and what they started) are stopped, never by
``ray stop`` (that would kill every Ray process on the host), and none may be left.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The cluster's temp dir (socket paths under it must stay short) and its auth token. Ray
#: reads its auth settings when it is imported, so they are in the environment before that.
ROOT = Path(tempfile.mkdtemp(prefix="cray", dir="/tmp"))
TOKEN = ROOT / "auth_token"
TOKEN.write_text(secrets.token_hex(32))
atexit.register(shutil.rmtree, ROOT, True)  # also when no test here ran
os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN_PATH=str(TOKEN))
os.environ.setdefault("RAY_ENABLE_AUTO_CONNECT", "0")  # as a front end: never a Ray of its own

ray = pytest.importorskip("ray", reason="the Ray extra (clarion[ray]) is not installed")

REPO = Path(__file__).resolve().parents[3]
RAY = str(Path(sys.executable).with_name("ray"))
#: The ports Ray's worker processes take; every other port is chosen outside it.
WORKER_PORTS = (23000, 23999)
#: The ports each node needs besides the head's GCS port.
NODE_PORTS = (
    "--node-manager-port",
    "--object-manager-port",
    "--metrics-export-port",
    "--runtime-env-agent-port",
    "--dashboard-agent-grpc-port",
    "--dashboard-agent-listen-port",
)


@dataclass
class RayCluster:
    address: str
    env: dict[str, str]


def _free_port(taken: set[int]) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in taken and not WORKER_PORTS[0] <= port <= WORKER_PORTS[1]:
            taken.add(port)
            return port


def _node_args(taken: set[int]) -> list[str]:
    args = []
    for option in NODE_PORTS:
        args += [option, str(_free_port(taken))]
    workers = ["--min-worker-port", str(WORKER_PORTS[0]), "--max-worker-port", str(WORKER_PORTS[1])]
    return [*args, *workers, "--num-cpus", "1", "--disable-usage-stats", "--block"]


def _descendants(roots: list[int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, []))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _ours() -> set[int]:
    """Processes other than this one whose environment names this cluster's token: every
    process the nodes started, wherever they were reparented to."""
    marker = f"RAY_AUTH_TOKEN_PATH={TOKEN}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.add(int(entry.name))
            except OSError:
                continue
    return found


def _signal(pids: set[int], signum: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    return {pid for pid in pids if _alive(pid)}


def _stop(processes: list[subprocess.Popen[bytes]], started: set[int]) -> set[int]:
    """Stop ``processes`` and ``started`` (what they started); the pids still alive after."""
    _signal(started, signal.SIGTERM)
    left = _wait_gone(started, 15)
    _signal(left, signal.SIGKILL)
    for process in processes:
        process.wait(timeout=10)
    return _wait_gone(left, 10)


@pytest.fixture(autouse=True)
def _delete_applications() -> Iterator[None]:
    """Applications outlive the front ends that asked for them: each test ends with none."""
    yield
    if ray.is_initialized():
        from ray import serve

        for name in serve.status().applications:
            serve.delete(name)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    root = ROOT
    env = dict(os.environ)
    # Replicas import Clarion, and the tests' toy runners, as this process does.
    env["PYTHONPATH"] = os.pathsep.join([*sys.path[1:], str(REPO)])
    taken: set[int] = set()
    gcs_port = _free_port(taken)
    address = f"127.0.0.1:{gcs_port}"
    common = ["--temp-dir", str(root / "ray")]
    head = [RAY, "start", "--head", "--port", str(gcs_port), "--include-dashboard=false"]
    head += ["--ray-client-server-port", str(_free_port(taken))]
    second = [RAY, "start", "--address", address]
    second += ["--resources", '{"worker_node": 1}']
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in (("head", head), ("second", second)):
            processes.append(_start_node(command + common, root / f"{name}.log", env, taken))
        deadline = time.monotonic() + 120
        _connect(address, deadline)
        while sum(1 for n in ray.nodes() if n["Alive"]) < 2:
            assert time.monotonic() < deadline, "the second node never registered"
            time.sleep(0.5)
        ray.shutdown()
        yield RayCluster(address, env)
    finally:
        if ray.is_initialized():
            ray.shutdown()
        started = _descendants([p.pid for p in processes]) | _ours()
        left = _stop(processes, started) | _stop([], _ours())
        shutil.rmtree(root, ignore_errors=True)
        assert not left, f"Ray processes left running: {sorted(left)}"


#: Tries to start one node: on a loaded machine its raylet may miss Ray's fixed 30 s
#: registration window, and ``ray start`` then gives up.
NODE_START_TRIES = 3


def _start_node(
    command: list[str], log: Path, env: dict[str, str], taken: set[int]
) -> subprocess.Popen[bytes]:
    """``ray start --block`` once its node runs (what a failed try started is stopped)."""
    for _ in range(NODE_START_TRIES):
        with log.open("wb") as out:
            process = subprocess.Popen(command + _node_args(taken), env=env, stdout=out, stderr=out)
        if _started(process, log):
            return process
        left = _stop([process], _descendants([process.pid]))
        assert not left, f"Ray processes left running: {sorted(left)}"
    raise AssertionError(
        f"the Ray node did not start in {NODE_START_TRIES} tries:\n{log.read_text()}"
    )


def _started(process: subprocess.Popen[bytes], log: Path) -> bool:
    """Whether ``ray start`` says its node runs (it then blocks, watching the node)."""
    deadline = time.monotonic() + 120
    while b"Ray runtime started" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _connect(address: str, deadline: float) -> None:
    """Join as a driver; a node that just started may not be registered yet."""
    while True:
        try:
            ray.init(address=address, namespace="clarion", log_to_driver=False)
            return
        except (ConnectionError, RuntimeError):
            ray.shutdown()
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
