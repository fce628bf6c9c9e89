"""`clarion serve` as a subprocess on free ports, for tests that need a real process."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import MODELS_DIR

CLARION = shutil.which("clarion") or str(Path(sys.executable).with_name("clarion"))


def clarion_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a `clarion` subprocess: a private home, offline, no stray
    ``CLARION_*`` settings from the calling shell, then ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
    env.update(
        CLARION_HOME=str(home),
        CLARION_MODELS_DIR=str(MODELS_DIR),
        PYTHONUNBUFFERED="1",
        HF_HUB_OFFLINE="1",
    )
    env.update(extra)
    return env


@dataclass
class Served:
    process: subprocess.Popen[str]
    grpc_url: str
    rest_url: str
    pat: str
    lines: list[str]

    @property
    def grpc_target(self) -> str:
        return self.grpc_url.removeprefix("http://")

    @property
    def output(self) -> str:
        return "".join(self.lines)


@contextlib.contextmanager
def serve(home: Path, *extra: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """Start `clarion serve` and wait until it says it is serving. With ``CLARION_PAT`` in
    ``env`` that is the key; otherwise the key the first start prints. Killed on exit."""
    environment = clarion_env(home, **(env or {}))
    process = subprocess.Popen(
        [CLARION, "serve", "--grpc-port", "0", "--rest-port", "0", *extra],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Press Ctrl+C" in line:
            break
    text = "".join(lines)
    grpc_url = re.search(r"gRPC on (http://\S+)", text)
    rest_url = re.search(r"REST on (http://\S+)", text)
    printed = re.search(r"^\s+([0-9a-f]{32})$", text, re.M)
    pat = environment.get("CLARION_PAT") or (printed.group(1) if printed else "")
    if not (grpc_url and rest_url and pat):
        process.kill()
        process.wait(timeout=30)
        raise AssertionError(f"clarion serve did not start:\n{text}")
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        yield Served(process, grpc_url.group(1), rest_url.group(1), pat, lines)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        reader.join(timeout=10)
        process.stdout.close()
