"""Memory per request is bounded by what it asks for: the worst image request the limits
allow raises a subprocess server's peak RSS by a bounded amount, and its RSS comes back
down afterwards. Figures are printed (run with -s to see them)."""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from tests.conftest import MODELS_DIR

pytestmark = pytest.mark.slow

IMAGE_PATH = "/v2/users/clarion/apps/main/models/general-image-recognition/outputs"
SIDE = 6000
MB = 1024 * 1024

_SERVER = textwrap.dedent(
    """
    import json, os, sys
    from clarion.auth import KeyManager
    from clarion.config import Settings
    from clarion.registry import Registry
    from clarion.server_thread import ServerThread

    settings = Settings.from_env(grpc_port=0, rest_port=0)
    with ServerThread(settings) as server:
        registry = Registry.open(settings.resolved_database_url)
        pat = KeyManager(registry).create("alice")
        registry.close()
        print(json.dumps({"rest": server.rest_url, "pat": pat, "pid": os.getpid()}), flush=True)
        sys.stdin.readline()
    """
)


def _one_bit_png() -> bytes:
    """A 6000x6000 one-bit PNG: 36 million pixels in about 16 KB."""
    image = Image.new("1", (SIDE, SIDE), 0)
    ImageDraw.Draw(image).ellipse((1000, 1000, 5000, 5000), fill=1)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _small_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (400, 300), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the peak) of ``pid``, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


def _reset_peak(pid: int) -> None:
    """VmHWM := VmRSS; where that is not allowed the peak so far stays (an upper bound)."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


class Served:
    def __init__(self, home: Path, **env: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("CLARION_")}
        environ.update(CLARION_HOME=str(home), CLARION_MODELS_DIR=str(MODELS_DIR), **env)
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVER],
            env=environ,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.rest_url, self.pat, self.pid = info["rest"], info["pat"], info["pid"]

    def predict(self, images: list[bytes]) -> httpx.Response:
        body = {
            "inputs": [
                {"id": f"i{n}", "data": {"image": {"base64": base64.b64encode(b).decode()}}}
                for n, b in enumerate(images)
            ]
        }
        return httpx.post(
            self.rest_url + IMAGE_PATH,
            json=body,
            headers={"Authorization": "Key " + self.pat},
            timeout=300,
        )

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def png() -> bytes:
    return _one_bit_png()


def _measure(home: Path, png: bytes, **env: str) -> dict[str, float]:
    served = Served(home, **env)
    try:
        # Load the model and run a full batch of small images once, so the runtime's own
        # arenas have their working size before the baseline is taken.
        for _ in range(2):
            warm = served.predict([_small_png()] * 128)
            assert warm.status_code == 200, warm.text[:300]
        baseline = _status(served.pid)["VmRSS"]
        _reset_peak(served.pid)
        response = served.predict([png] * 128)
        after = _status(served.pid)
        codes = [o["status"]["code"] for o in response.json()["outputs"]]
        return {
            "baseline": baseline / MB,
            "peak_growth": (after["VmHWM"] - baseline) / MB,
            "after_growth": (after["VmRSS"] - baseline) / MB,
            "decoded": codes.count(10000),
            "refused": codes.count(30104),
            "http": response.status_code,
        }
    finally:
        served.close()


def test_worst_image_request_is_bounded_and_memory_returns(tmp_path: Path, png: bytes) -> None:
    """128 one-bit 6000x6000 PNGs (2.7 MB of JSON, 4.6 billion pixels if decoded in full)."""
    threads, budget = 4, 1_000_000_000  # the defaults
    figures = _measure(tmp_path / "default", png)
    print(f"\n128 x {SIDE}x{SIDE} 1-bit PNGs, default limits: {figures}")
    per_image = SIDE * SIDE
    assert figures["decoded"] == budget // per_image and figures["refused"] == 128 - 27
    assert figures["http"] == 200  # mixed: the decoded ones answered, the others 30104
    # Bounded by the limits: the decode threads each hold one full-size image in its
    # 8-bit form and a copy, plus the small working copies and the model batch.
    bound = threads * per_image * 2 / MB + 256
    assert figures["peak_growth"] < bound, figures
    assert figures["after_growth"] < 64, figures


def test_every_image_decoded_with_a_larger_budget(tmp_path: Path, png: bytes) -> None:
    """With the budget raised so all 128 decode, the peak does not grow with the count."""
    figures = _measure(tmp_path / "large", png, CLARION_MAX_REQUEST_PIXELS=str(5 * 10**9))
    print(f"\n128 x {SIDE}x{SIDE} 1-bit PNGs, all decoded: {figures}")
    assert figures["decoded"] == 128
    assert figures["peak_growth"] < 4 * SIDE * SIDE * 2 / MB + 256, figures
    assert figures["after_growth"] < 64, figures
