"""Chat LLM generation on llama.cpp: every inference parameter, beams, reasoning, streaming.

Each input becomes one request to the engine; the runtime runs each input as its own call in
the runner's threads (``threads``), so the inputs of a request run at the same time in the
engine's parallel slots. How the parameters map (see :class:`GenerationParams`):

- the prompt is the input text as a chat (with ``system_prompt`` as the system turn), which
  the engine renders in the model's own template, tokenizes and fits to a slot's context; or
  ``prompt_template`` filled in and sent as raw text. Only where the rendered prompt itself is
  needed (a template, beam search, ``return_full_text``) is it rendered and tokenized here,
  over the engine's socket: two calls before the first token that a plain chat does without;
- ``do_sample`` false (or ``top_k`` 1, or ``temperature`` 0) is greedy decoding;
- ``num_beams`` above 1 runs :func:`beam_search`, scoring each beam's next token with the
  engine's log-probabilities on token-id prompts (the slots' prompt cache keeps each step to
  one new token);
- ``reasoning_effort`` medium or high first runs a reasoning pass of at most
  :data:`REASONING_BUDGETS` tokens and then answers with those notes in the prompt; the
  reasoning is returned apart from the answer;
- token log-probabilities are asked of the engine only when ``logprobs`` is set (beam search
  asks for its own): for each token the engine would rank the whole vocabulary;
- ``max_tokens`` is capped by what is left of the slot's context after the prompt; a prompt
  that fills the context is refused with 30105 (by the engine, for a chat).

At most ``max_in_flight`` inputs are generating or waiting at once (the runtime refuses more
with 21354).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from clarion.config import Settings
from clarion.domain.generation import GenerationParams, ReasoningEffort
from clarion.domain.values import Input, Output, TokenLogprob
from clarion.errors import InputError, PredictionFailed
from clarion.runners.beam import beam_search
from clarion.runners.llm_engine import Chunk, EngineConfig, LlamaEngine, context_exceeded
from clarion.runtime.runner import Runner

#: Most tokens the reasoning pass may use, by effort.
REASONING_BUDGETS = {ReasoningEffort.MEDIUM: 128, ReasoningEffort.HIGH: 384}
REASONING_INSTRUCTION = (
    "Think about the user's request step by step. Write only your reasoning, briefly; "
    "do not write the final answer yet."
)
_PLACEHOLDER = re.compile(r"\{(prompt|system_prompt)\}")


@dataclass(frozen=True)
class _Prepared:
    """What the engine continues and the most tokens it may answer with: a chat's
    ``messages``, or (where the rendered prompt was needed) that prompt's ``text`` and its
    ``tokens``, which are sent."""

    max_tokens: int
    messages: tuple[dict[str, str], ...] | None = None
    text: str = ""
    tokens: tuple[int, ...] = ()
    reasoning: str | None = None
    reasoning_tokens: int = 0


class LlmRunner(Runner[GenerationParams]):
    """Generates text for text inputs with a chat LLM."""

    batchable = False

    def __init__(
        self, config: EngineConfig, max_in_flight: int, memory_mib: int | None = None
    ) -> None:
        self.engine = LlamaEngine(config)
        self._memory_mib = memory_mib
        self.threads = max_in_flight
        self.max_in_flight = max_in_flight
        self._beams: ThreadPoolExecutor | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any], settings: Settings) -> LlmRunner:
        n_parallel = int(spec.get("n_parallel", 8))
        config = EngineConfig(
            model_path=Path(spec["model_path"]),
            n_ctx_per_slot=int(spec.get("n_ctx_per_slot", 2048)),
            n_parallel=n_parallel,
            threads=settings.llm_threads,
            cache_ram_mib=int(spec.get("cache_ram_mib", 64)),
            end_of_turn=tuple(spec.get("end_of_turn", EngineConfig.end_of_turn)),
        )
        memory = spec.get("memory_mib")
        return cls(
            config,
            max_in_flight=settings.llm_queue_size or 4 * n_parallel,
            memory_mib=int(memory) if memory is not None else None,
        )

    def load(self) -> None:
        self.engine.start()
        self._beams = ThreadPoolExecutor(8, "clarion-llm-beams")

    def close(self) -> None:
        if self._beams is not None:
            self._beams.shutdown(wait=False, cancel_futures=True)
        self.engine.close()

    def memory_bytes(self) -> int:
        """The measured peak (spec ``memory_mib``) or an estimate from the file's size."""
        if self._memory_mib is not None:
            return self._memory_mib * 1024 * 1024
        return int(self.engine.config.model_path.stat().st_size * 1.5) + 400 * 1024 * 1024

    @property
    def generated_tokens(self) -> int:
        """Tokens the engine generated since it was loaded (finished generations or not)."""
        return self.engine.generated_tokens

    @property
    def context_per_request(self) -> int:
        return self.engine.config.n_ctx_per_slot

    # batch ---------------------------------------------------------------------------

    def predict(self, inputs: Sequence[Input], params: GenerationParams) -> list[Output]:
        return self.predict_until(inputs, params, threading.Event())

    def predict_until(
        self, inputs: Sequence[Input], params: GenerationParams, stop: threading.Event
    ) -> list[Output]:
        """The inputs in turn (the runtime calls with one input per thread); once ``stop``
        is set, a generation ends at its next token and the inputs after it never reach
        the engine."""
        return [self._answer(item, params, stop) for item in inputs]

    def _answer(self, item: Input, params: GenerationParams, stop: threading.Event) -> Output:
        try:
            if stop.is_set():
                return Output(finish_reason="cancelled")
            prepared = self._prepare(item, params, stop)
            if params.num_beams > 1:
                return self._beam(prepared, params, stop)
            reply = self.engine.complete_until(self._request(prepared, params), stop)
            return self._output(prepared, params, reply, reply["choices"][0].get("text", ""))
        except InputError as exc:
            return Output(error=exc)

    # streaming -----------------------------------------------------------------------

    def stream(
        self,
        item: Input,
        params: GenerationParams,
        emit: Callable[[Output], bool],
        stop: threading.Event,
    ) -> Output:
        prepared = self._prepare(item, params, stop)
        if params.return_full_text and not emit(Output(text=prepared.text)):
            return Output()
        if params.num_beams > 1:
            result = self._beam(prepared, params, stop)
            emit(Output(text=result.text.removeprefix(prepared.text) if result.text else ""))
            return replace(result, text=None)

        def on_chunk(chunk: Chunk) -> bool:
            choices = chunk.get("choices") or [{}]
            piece = choices[0].get("text") or ""
            return emit(Output(text=piece)) if piece else True

        last = self.engine.complete(self._request(prepared, params), on_chunk)
        return replace(self._output(prepared, params, last, ""), text=None)

    # steps ---------------------------------------------------------------------------

    @staticmethod
    def _turns(item: Input, text: str, params: GenerationParams) -> list[dict[str, str]]:
        turns = [{"role": m.role, "content": m.content} for m in item.messages]
        if not turns:
            turns = [{"role": "user", "content": text}]
        elif text != item.text:  # the reasoning notes go with the last user turn
            last_user = max(i for i, t in enumerate(turns) if t["role"] == "user")
            turns[last_user] = {"role": "user", "content": text}
        if params.system_prompt and not any(t["role"] == "system" for t in turns):
            turns.insert(0, {"role": "system", "content": params.system_prompt})
        return turns

    def _prompt(self, item: Input, text: str, params: GenerationParams) -> _Prepared:
        """The chat itself, or the rendered prompt where it is needed."""
        if params.prompt_template:
            values = {"prompt": text, "system_prompt": params.system_prompt}
            rendered = _PLACEHOLDER.sub(lambda m: values[m.group(1)], params.prompt_template)
        elif params.num_beams > 1 or params.return_full_text:
            rendered = self.engine.render_chat(self._turns(item, text, params))
        else:
            return _Prepared(params.max_tokens, messages=tuple(self._turns(item, text, params)))
        tokens = tuple(self.engine.tokenize(rendered))
        room = self.context_per_request - len(tokens)
        if room < 1:
            raise context_exceeded(len(tokens), self.context_per_request)
        return _Prepared(min(params.max_tokens, room), text=rendered, tokens=tokens)

    def _prepare(self, item: Input, params: GenerationParams, stop: threading.Event) -> _Prepared:
        text = item.text
        reasoning, reasoning_tokens = None, 0
        if params.reasoning_effort is not ReasoningEffort.LOW:
            notes = _Prepared(
                REASONING_BUDGETS[params.reasoning_effort],
                messages=(
                    {"role": "system", "content": REASONING_INSTRUCTION},
                    {"role": "user", "content": text},
                ),
            )
            reply = self.engine.complete_until(self._request(notes, params, stop=False), stop)
            reasoning = reply["choices"][0].get("text", "").strip()
            reasoning_tokens = int(reply.get("usage", {}).get("completion_tokens", 0))
            text = f"{text}\n\nYour notes from thinking it over:\n{reasoning}\n\nNow answer."
        return replace(
            self._prompt(item, text, params),
            reasoning=reasoning,
            reasoning_tokens=reasoning_tokens,
        )

    @staticmethod
    def _request(
        prepared: _Prepared, params: GenerationParams, stop: bool = True
    ) -> dict[str, Any]:
        request: dict[str, Any] = {"n_predict": prepared.max_tokens, "cache_prompt": True}
        if prepared.messages is not None:
            request["messages"] = list(prepared.messages)
        else:
            request["prompt"] = list(prepared.tokens)
        if params.logprobs:  # the engine ranks the whole vocabulary for each token then
            request["logprobs"] = max(1, params.top_logprobs)
        if stop and params.json_schema is not None:
            request["json_schema"] = params.json_schema
        if params.greedy:
            request.update(temperature=0.0, top_k=1)
        else:
            request.update(temperature=params.temperature, top_p=params.top_p, top_k=params.top_k)
            if params.seed is not None:
                request["seed"] = params.seed
        if stop and params.stop:
            request["stop"] = list(params.stop)
        return request

    def _output(
        self, prepared: _Prepared, params: GenerationParams, reply: Chunk, text: str
    ) -> Output:
        choice = (reply.get("choices") or [{}])[0]
        usage = reply.get("usage") or {}
        content = (choice.get("logprobs") or {}).get("content") or []
        return Output(
            text=(prepared.text + text) if params.return_full_text else text,
            prompt_tokens=int(usage.get("prompt_tokens", len(prepared.tokens))),
            completion_tokens=int(usage.get("completion_tokens", 0)),
            logprob=sum(float(t["logprob"]) for t in content) if content else None,
            finish_reason=str(choice.get("finish_reason") or ""),
            reasoning=prepared.reasoning,
            reasoning_tokens=prepared.reasoning_tokens,
            tokens=_token_logprobs(content, params.top_logprobs) if params.logprobs else (),
        )

    def _beam(self, prepared: _Prepared, params: GenerationParams, stop: threading.Event) -> Output:
        assert self._beams is not None
        expand = min(2 * params.num_beams, 20)

        def score(continuation: tuple[int, ...]) -> list[tuple[int, float]]:
            if stop.is_set():
                raise PredictionFailed("The beam search was stopped: its caller went away.")
            reply = self.engine.complete(
                {
                    "prompt": [*prepared.tokens, *continuation],
                    "n_predict": 1,
                    "temperature": 0.0,
                    "top_k": 1,
                    "logprobs": expand,
                    "cache_prompt": True,
                }
            )
            top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            return [(int(t["id"]), float(t["logprob"])) for t in top]

        best = beam_search(
            lambda beams: list(self._beams.map(score, beams)),  # type: ignore[union-attr]
            params.num_beams,
            prepared.max_tokens,
            self.engine.end_of_turn_ids,
        )
        text = self.engine.detokenize(best.text_tokens) if best.text_tokens else ""
        return Output(
            text=(prepared.text + text) if params.return_full_text else text,
            prompt_tokens=len(prepared.tokens),
            completion_tokens=len(best.tokens),
            logprob=best.logprob,
            finish_reason="stop" if best.finished else "length",
            reasoning=prepared.reasoning,
            reasoning_tokens=prepared.reasoning_tokens,
        )


def _token_logprobs(content: list[dict[str, Any]], top: int) -> tuple[TokenLogprob, ...]:
    return tuple(
        TokenLogprob(
            token=str(t.get("token", "")),
            logprob=float(t["logprob"]),
            top=tuple(
                (str(alt.get("token", "")), float(alt["logprob"]))
                for alt in (t.get("top_logprobs") or [])[:top]
            ),
        )
        for t in content
    )
