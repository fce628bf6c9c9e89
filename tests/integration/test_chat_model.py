"""The default chat model, Qwen2.5-Coder-1.5B-Instruct, run for real on llama.cpp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from clarion.catalog.qwen import QWEN_CODER
from clarion.domain.generation import GenerationParams
from clarion.domain.values import ChatMessage, Input, InputKind
from clarion.runners import LlmRunner
from clarion.server_thread import ServerThread
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

SEED_QUESTION = "Who was president of the United States in 1955?"


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlmRunner]:
    settings = make_settings(Path(tmp_path_factory.mktemp("qwen-home")))
    runner = LlmRunner.from_spec(QWEN_CODER.spec(settings), settings)
    runner.load()
    try:
        yield runner
    finally:
        runner.close()


def test_greedy_answer_to_the_seed_question_is_eisenhower(qwen: LlmRunner) -> None:
    greedy = GenerationParams(do_sample=False, max_tokens=64)
    (output,) = qwen.predict([Input("q", InputKind.TEXT, SEED_QUESTION)], greedy)
    assert output.error is None and output.text is not None
    assert "Eisenhower" in output.text, output.text
    assert output.finish_reason == "stop"  # it ended its turn, well before max_tokens
    assert 0 < output.completion_tokens < 64
    assert "<|im_end|>" not in output.text and "<|im_start|>" not in output.text


def test_chat_template_renders_system_user_and_assistant_turns(qwen: LlmRunner) -> None:
    prompt = qwen.engine.render_chat(
        [
            {"role": "system", "content": "Answer in one word."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
            {"role": "user", "content": "And of Italy?"},
        ]
    )
    assert prompt == (
        "<|im_start|>system\nAnswer in one word.<|im_end|>\n"
        "<|im_start|>user\nCapital of France?<|im_end|>\n"
        "<|im_start|>assistant\nParis.<|im_end|>\n"
        "<|im_start|>user\nAnd of Italy?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    conversation = (
        ChatMessage("system", "Answer in one word."),
        ChatMessage("user", "Capital of France?"),
        ChatMessage("assistant", "Paris."),
        ChatMessage("user", "And of Italy?"),
    )
    item = Input("c", InputKind.TEXT, "And of Italy?", messages=conversation)
    (output,) = qwen.predict([item], GenerationParams(do_sample=False, max_tokens=16))
    assert output.text is not None and "Rome" in output.text, output.text
    assert output.finish_reason == "stop"


def test_the_readme_openai_example_answers_with_qwen(server: ServerThread) -> None:
    client = openai.OpenAI(base_url=f"{server.rest_url}/v1", api_key=server.pat, max_retries=0)
    assert "qwen2.5-coder-1.5b-instruct" in {m.id for m in client.models.list()}
    reply = client.chat.completions.create(
        model="qwen2.5-coder-1.5b-instruct",
        messages=[{"role": "user", "content": SEED_QUESTION}],
        max_tokens=64,
        temperature=0,
    )
    assert "Eisenhower" in (reply.choices[0].message.content or "")
    assert reply.choices[0].finish_reason == "stop"
