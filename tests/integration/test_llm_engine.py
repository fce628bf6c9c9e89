"""The LLM engine: its own listener is locked down (a private Unix socket and a key), and a
chat sent as messages is the same request as its rendered prompt sent as tokens."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from clarion.catalog.smollm import SMOLLM2
from clarion.config import Settings
from clarion.errors import InputOverLimit
from clarion.runners import LlmRunner
from clarion.runners.llm_engine import LlamaEngine

pytestmark = pytest.mark.slow

#: Seconds after which the engine's HTTP listener closes an idle kept-alive connection.
IDLE_CLOSE_S = 5


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


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaEngine]:
    settings = Settings.from_env({"CLARION_HOME": str(tmp_path_factory.mktemp("home"))})
    runner = LlmRunner.from_spec(SMOLLM2.spec(settings), settings)
    runner.load()
    yield runner.engine
    runner.close()


def test_a_chat_sent_as_messages_is_its_rendered_prompt_sent_as_tokens(
    engine: LlamaEngine,
) -> None:
    messages = [{"role": "user", "content": "Name three colours."}]
    tokens = engine.tokenize(engine.render_chat(messages))
    sampling = {"n_predict": 12, "temperature": 0.0, "top_k": 1, "logprobs": 2}
    as_tokens = engine.complete({"prompt": tokens, **sampling})
    pieces: list[str] = []

    def gather(chunk: dict[str, Any]) -> bool:
        pieces.append(chunk["choices"][0]["text"])
        return True

    last = engine.complete({"messages": messages, **sampling}, gather)
    assert "".join(pieces) == as_tokens["choices"][0]["text"]
    # the stream's finish reason and usage arrive in two chunks; the last one has both
    assert last["choices"][0]["finish_reason"] == as_tokens["choices"][0]["finish_reason"]
    assert last["usage"]["prompt_tokens"] == len(tokens) == as_tokens["usage"]["prompt_tokens"]
    assert last["usage"]["completion_tokens"] == as_tokens["usage"]["completion_tokens"]
    reply = engine.complete({"messages": messages, **sampling})
    top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
    assert reply["choices"][0]["text"] == as_tokens["choices"][0]["text"] and len(top) == 2


def test_a_chat_over_the_context_is_refused_with_its_size(engine: LlamaEngine) -> None:
    messages = [{"role": "user", "content": "lighthouse " * 3000}]
    with pytest.raises(InputOverLimit, match=r"The prompt is \d{4} tokens; .* holds 2048 tokens"):
        engine.complete({"messages": messages, "n_predict": 4})


def test_socket_calls_from_many_threads_outlive_the_engines_connection_limit(
    engine: LlamaEngine,
) -> None:
    # the engine closes a kept-alive connection after a few requests: each call still answers
    texts = [" ".join(["word"] * (i % 7 + 1)) for i in range(40)]
    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(lambda text: len(engine.tokenize(text)), texts))
    assert counts == [len(engine.tokenize(text)) for text in texts]
    assert counts[:7] == [1, 2, 3, 4, 5, 6, 7]


def test_a_call_after_the_engine_closed_its_idle_connection_still_answers(
    engine: LlamaEngine,
) -> None:
    assert engine.tokenize("hi")
    time.sleep(IDLE_CLOSE_S + 1)  # the engine has closed the kept-alive connection by now
    assert engine.tokenize("hi")
