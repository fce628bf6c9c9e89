"""OpenAI response and stream-chunk bodies from Clarion's domain outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from clarion.domain.prediction import Prediction
from clarion.domain.values import InputResult, Output, TokenLogprob
from clarion.service import StreamEvent


def raise_first_error(results: Sequence[InputResult]) -> None:
    """OpenAI answers a request as a whole: the first failed input fails it."""
    for result in results:
        if result.output.error is not None:
            raise result.output.error


def usage(outputs: Sequence[Output]) -> dict[str, int]:
    prompt = sum(o.prompt_tokens for o in outputs)
    completion = sum(o.completion_tokens + o.reasoning_tokens for o in outputs)
    details = {"reasoning_tokens": sum(o.reasoning_tokens for o in outputs)}
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "completion_tokens_details": details,  # type: ignore[dict-item]
    }


def _token(entry: TokenLogprob) -> dict[str, Any]:
    return {
        "token": entry.token,
        "logprob": entry.logprob,
        "bytes": list(entry.token.encode("utf-8")),
    }


def chat_logprobs(output: Output) -> dict[str, Any] | None:
    if not output.tokens:
        return None
    return {
        "content": [
            {**_token(t), "top_logprobs": [_token(TokenLogprob(tok, lp)) for tok, lp in t.top]}
            for t in output.tokens
        ]
    }


def completion_logprobs(output: Output) -> dict[str, Any] | None:
    if not output.tokens:
        return None
    offsets, position = [], 0
    for t in output.tokens:
        offsets.append(position)
        position += len(t.token)
    return {
        "tokens": [t.token for t in output.tokens],
        "token_logprobs": [t.logprob for t in output.tokens],
        "top_logprobs": [dict(t.top) for t in output.tokens],
        "text_offset": offsets,
    }


def chat_response(prediction: Prediction, rid: str, created: int, model: str) -> dict[str, Any]:
    raise_first_error(prediction.results)
    choices = []
    for index, result in enumerate(prediction.results):
        output = result.output
        message: dict[str, Any] = {"role": "assistant", "content": output.text or ""}
        if output.reasoning is not None:
            message["reasoning_content"] = output.reasoning
        choices.append(
            {
                "index": index,
                "message": message,
                "finish_reason": output.finish_reason or "stop",
                "logprobs": chat_logprobs(output),
            }
        )
    return {
        "id": rid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage([r.output for r in prediction.results]),
    }


def completion_response(
    prediction: Prediction, rid: str, created: int, model: str
) -> dict[str, Any]:
    raise_first_error(prediction.results)
    choices = [
        {
            "index": index,
            "text": result.output.text or "",
            "finish_reason": result.output.finish_reason or "stop",
            "logprobs": completion_logprobs(result.output),
        }
        for index, result in enumerate(prediction.results)
    ]
    return {
        "id": rid,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": usage([r.output for r in prediction.results]),
    }


def _chat_choice(event: StreamEvent) -> dict[str, Any]:
    if event.final:
        return {
            "index": int(event.input_id),
            "delta": {},
            "finish_reason": event.output.finish_reason or "stop",
        }
    delta = {"role": "assistant", "content": event.output.text or ""}
    return {"index": int(event.input_id), "delta": delta, "finish_reason": None}


def _completion_choice(event: StreamEvent) -> dict[str, Any]:
    return {
        "index": int(event.input_id),
        "text": "" if event.final else (event.output.text or ""),
        "finish_reason": (event.output.finish_reason or "stop") if event.final else None,
        "logprobs": None,
    }


@dataclass(frozen=True)
class ChunkFormat:
    """The chunks of one streaming route: the ``object`` every chunk names, token chunks
    and the closing usage chunk (``stream_options.include_usage``) alike, and how a stream
    event becomes a choice."""

    object: str
    choice: Callable[[StreamEvent], dict[str, Any]]

    def chunk(self, event: StreamEvent, rid: str, created: int, model: str) -> dict[str, Any]:
        return self._envelope(rid, created, model, [self.choice(event)])

    def usage_chunk(
        self, outputs: Sequence[Output], rid: str, created: int, model: str
    ) -> dict[str, Any]:
        """The last chunk before ``[DONE]``: no choices, the usage of the whole stream."""
        return {**self._envelope(rid, created, model, []), "usage": usage(outputs)}

    def _envelope(
        self, rid: str, created: int, model: str, choices: list[dict[str, Any]]
    ) -> dict[str, Any]:
        return {
            "id": rid,
            "object": self.object,
            "created": created,
            "model": model,
            "choices": choices,
        }


#: ``/v1/chat/completions`` streams these.
CHAT_CHUNKS = ChunkFormat("chat.completion.chunk", _chat_choice)
#: ``/v1/completions`` streams these; OpenAI names completion chunks ``text_completion``.
COMPLETION_CHUNKS = ChunkFormat("text_completion", _completion_choice)
