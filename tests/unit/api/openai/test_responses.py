"""OpenAI stream chunks: each route's chunks, its closing usage chunk too, name one object."""

from __future__ import annotations

from clarion.api.openai.responses import CHAT_CHUNKS, COMPLETION_CHUNKS
from clarion.domain.values import Output


def test_completion_usage_chunk_is_a_text_completion() -> None:
    outputs = [Output(prompt_tokens=5, completion_tokens=3), Output(prompt_tokens=5)]
    chunk = COMPLETION_CHUNKS.usage_chunk(outputs, "cmpl-1", 1700000000, "m")
    assert chunk == {
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1700000000,
        "model": "m",
        "choices": [],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 3,
            "total_tokens": 13,
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }


def test_chat_usage_chunk_is_a_chat_completion_chunk() -> None:
    chunk = CHAT_CHUNKS.usage_chunk([Output(prompt_tokens=2)], "chatcmpl-1", 1, "m")
    assert chunk["object"] == "chat.completion.chunk"
    assert chunk["choices"] == [] and chunk["usage"]["total_tokens"] == 2


def test_each_route_names_openais_chunk_object() -> None:
    assert COMPLETION_CHUNKS.object == "text_completion"
    assert CHAT_CHUNKS.object == "chat.completion.chunk"
