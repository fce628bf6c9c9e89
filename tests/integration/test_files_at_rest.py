"""A real server keeps its home, registry, stored inputs and artefacts owner-only."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from clarion.auth import KeyManager
from clarion.client import App
from clarion.registry import Registry
from clarion.server_thread import ServerThread
from tests.conftest import make_settings
from tests.labelled_texts import COOKING, SPORTS

pytestmark = pytest.mark.slow


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 40, 40)).save(out, "PNG")
    return out.getvalue()


def test_everything_under_home_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    previous = os.umask(0o022)  # the usual umask: files would be world-readable by default
    try:
        with ServerThread(make_settings(home)) as server:
            registry = Registry.open(make_settings(home).resolved_database_url)
            try:
                pat = KeyManager(registry).create("alice")
            finally:
                registry.close()
            photos = App("photos", pat=pat, base_url=server.grpc_url).create()
            photos.add_inputs([App.image_input(_png(), ["red"], [], "red1")])
            texts = App("texts", pat=pat, base_url=server.grpc_url).create()
            texts.add_inputs(
                [App.text_input(t, ["sports"], ["cooking"]) for t in SPORTS]
                + [App.text_input(t, ["cooking"], ["sports"]) for t in COOKING]
            )
            texts.create_model("topic", ["sports", "cooking"])
            texts.train("topic")
    finally:
        os.umask(previous)
    assert _mode(home) == 0o700
    assert _mode(home / "registry.db") == 0o600
    stored = [p for p in (home / "inputs").rglob("*") if p.is_file()]
    artefacts = list((home / "artifacts").glob("*.npz"))
    assert stored and artefacts
    for path in [*stored, *artefacts]:
        assert _mode(path) == 0o600, path
        assert _mode(path.parent) == 0o700, path.parent
    leaks = [p for p in home.rglob("*") if _mode(p) & 0o077 and "models" not in p.parts]
    assert leaks == []
