"""The LLM engine's own listener is locked down: a private Unix socket and a key."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from clarion.catalog.smollm import SMOLLM2
from clarion.config import Settings
from clarion.runners import LlmRunner

pytestmark = pytest.mark.slow


def test_engine_listener_is_private_and_keyed(tmp_path: Path) -> None:
    settings = Settings.from_env({"CLARION_HOME": str(tmp_path)})
    runner = LlmRunner.from_spec(SMOLLM2.spec(settings), settings)
    runner.load()
    try:
        socket_path = Path(runner.engine.socket_path)
        directory_mode = stat.S_IMODE(os.stat(socket_path.parent).st_mode)
        assert directory_mode == 0o700  # no other user can even reach the socket
        assert stat.S_ISSOCK(os.stat(socket_path).st_mode)
        transport = httpx.HTTPTransport(uds=str(socket_path))
        with httpx.Client(transport=transport, base_url="http://engine") as anonymous:
            refused = anonymous.post("/completion", json={"prompt": "hi", "n_predict": 1})
            assert refused.status_code == 401
            wrong = anonymous.post(
                "/tokenize", json={"content": "hi"}, headers={"Authorization": "Bearer guess"}
            )
            assert wrong.status_code == 401
        assert runner.engine.tokenize("hi")  # Clarion's own key works
    finally:
        runner.close()
    assert not socket_path.parent.exists()
