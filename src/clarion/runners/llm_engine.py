"""One llama.cpp engine (xllamacpp) inside the Clarion process.

The engine serves several requests at once in parallel slots (continuous batching) and is
called in-process. It always opens an HTTP listener of its own; Clarion binds it to a Unix
socket in a private directory (mode 0700) and sets an API key that only this process knows,
so nothing else on the machine can reach it. Clarion itself uses that socket for the few
things the in-process API lacks: rendering the chat template and (de)tokenizing, where a
request needs the rendered prompt itself (a chat is otherwise sent as its messages).

    engine = LlamaEngine(EngineConfig(model_path=path))
    engine.start()
    reply = engine.complete({"prompt": "Hello", "n_predict": 16})
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clarion.errors import InputOverLimit, InvalidParameter, PredictionFailed
from clarion.runners.engine_socket import EngineSocket

log = logging.getLogger(__name__)

Chunk = dict[str, Any]


@dataclass(frozen=True)
class EngineConfig:
    """``n_ctx_per_slot`` tokens of context for each of ``n_parallel`` slots; the prompt cache
    is capped at ``cache_ram_mib`` (llama.cpp's default is 8 GiB)."""

    model_path: Path
    n_ctx_per_slot: int = 2048
    n_parallel: int = 8
    threads: int = 0
    cache_ram_mib: int = 64
    end_of_turn: tuple[str, ...] = ("<|im_end|>", "<|endoftext|>")


class LlamaEngine:
    """Starts the engine and wraps its calls, converting its errors into Clarion's."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._server: Any = None
        self._socket_dir: str | None = None
        self._socket: EngineSocket | None = None
        self.end_of_turn_ids: frozenset[int] = frozenset()
        self._generated = 0
        self._generated_lock = threading.Lock()

    @property
    def generated_tokens(self) -> int:
        """Tokens this engine has generated so far, for every caller, finished or not."""
        return self._generated

    def _count(self, tokens: int) -> None:
        with self._generated_lock:
            self._generated += tokens

    def start(self) -> None:
        import xllamacpp

        self._socket_dir = tempfile.mkdtemp(prefix="clarion-llm-")
        os.chmod(self._socket_dir, 0o700)
        socket_path = os.path.join(self._socket_dir, "engine.sock")
        key = secrets.token_hex(24)
        params = xllamacpp.CommonParams()
        params.model.path = str(self.config.model_path)
        params.n_parallel = self.config.n_parallel
        params.n_ctx = self.config.n_ctx_per_slot * self.config.n_parallel
        params.n_batch = 512
        threads = self.config.threads or (os.cpu_count() or 2)
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cache_ram_mib = self.config.cache_ram_mib
        params.api_keys = [key]
        params.hostnames = [socket_path]
        params.verbosity = 0
        params.warmup = False
        # Clarion sizes the slots and their context itself; the engine's own fitting pass
        # (which probes memory with a trial load) only costs time: about 0.6 s per start.
        params.fit_params = False
        sigint = signal.getsignal(signal.SIGINT)
        try:
            self._server = xllamacpp.Server(params)
        except RuntimeError as exc:
            raise PredictionFailed(f"the LLM engine failed to start: {exc}") from exc
        self._restore_sigint(sigint)
        self._socket = EngineSocket(socket_path, key)
        self.end_of_turn_ids = frozenset(self.tokenize("".join(self.config.end_of_turn)))

    @staticmethod
    def _restore_sigint(previous: Any) -> None:
        """The engine may install its own SIGINT handler; Clarion's must stay in charge."""
        if signal.getsignal(signal.SIGINT) is previous:
            return
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, previous)
        else:
            log.warning("the LLM engine replaced the SIGINT handler; restart from the main thread")

    @property
    def socket_path(self) -> str:
        assert self._socket_dir is not None
        return os.path.join(self._socket_dir, "engine.sock")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
        self._server = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # helpers over the private socket -------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert self._socket is not None, "start() first"
        return self._socket.post(path, body)

    def render_chat(self, messages: Sequence[dict[str, str]]) -> str:
        """The prompt the model's own chat template makes of ``messages``."""
        return str(self._post("/apply-template", {"messages": list(messages)})["prompt"])

    def tokenize(self, text: str) -> list[int]:
        body = {"content": text, "add_special": False, "parse_special": True}
        return [int(t) for t in self._post("/tokenize", body)["tokens"]]

    def detokenize(self, tokens: Sequence[int]) -> str:
        return str(self._post("/detokenize", {"tokens": list(tokens)})["content"])

    # completions ---------------------------------------------------------------------

    def complete(
        self, request: dict[str, Any], on_chunk: Callable[[Chunk], bool] | None = None
    ) -> Chunk:
        """One completion; with ``on_chunk`` it streams, and ``on_chunk`` returning False
        stops generation (freeing the slot). Returns the reply, or the last chunk.

        The request continues either a ``prompt`` (token ids or text) or a chat of
        ``messages``, which the engine renders with the model's own template, tokenizes and
        fits to a slot's context itself, with no call through the socket; ``logprobs`` is
        the number of top alternatives for either. Replies come in the completion shape
        (each choice's ``text``, ``logprobs``, ``finish_reason``; the ``usage``).
        """
        assert self._server is not None, "start() first"
        chat = "messages" in request
        if chat:
            request = _chat_request(request, stream=on_chunk is not None)
        handle = self._server.handle_chat_completions if chat else self._server.handle_completions
        if on_chunk is None:
            reply: Chunk = handle(request)
            self._raise_for(reply)
            reply = _as_completion(reply) if chat else reply
            self._count(int((reply.get("usage") or {}).get("completion_tokens", 0)))
            return reply
        last: Chunk = {}
        finish_reason = None

        def callback(chunk: Chunk) -> bool:
            nonlocal last, finish_reason
            if "error" in chunk:
                last = chunk
                return True
            if chat:  # the finish reason and the usage come in two chunks: merged in the last
                chunk = _as_completion(chunk)
                choices = chunk["choices"]
                finish_reason = (choices[0]["finish_reason"] if choices else None) or finish_reason
                if not choices:
                    chunk["choices"] = [{"text": "", "finish_reason": finish_reason}]
            last = chunk
            choice = (chunk.get("choices") or [{}])[0]
            content = (choice.get("logprobs") or {}).get("content") or []
            self._count(len(content) or (1 if choice.get("text") else 0))
            return not on_chunk(chunk)

        handle({**request, "stream": True}, callback)
        self._raise_for(last)
        return last

    def complete_until(self, request: dict[str, Any], stop: threading.Event) -> Chunk:
        """:meth:`complete` without streaming to the caller, but stopping (and freeing the
        slot) within a token of ``stop`` being set. The reply has the non-streaming shape:
        the whole text, every token's log-probabilities, the usage; ``finish_reason`` is
        ``cancelled`` when it was stopped."""
        if stop.is_set():
            return {"choices": [{"text": "", "finish_reason": "cancelled"}]}
        pieces: list[str] = []
        content: list[dict[str, Any]] = []

        def gather(chunk: Chunk) -> bool:
            choice = (chunk.get("choices") or [{}])[0]
            pieces.append(choice.get("text") or "")
            content.extend((choice.get("logprobs") or {}).get("content") or [])
            return not stop.is_set()

        last = self.complete(request, gather)
        choice = dict((last.get("choices") or [{}])[0])
        choice.update(text="".join(pieces), logprobs={"content": content})
        if stop.is_set() and not choice.get("finish_reason"):
            choice["finish_reason"] = "cancelled"
        return {**last, "choices": [choice]}

    @staticmethod
    def _raise_for(reply: Chunk) -> None:
        error = reply.get("error")
        if not error:
            return
        message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
        kind = error.get("type", "") if isinstance(error, dict) else ""
        if kind == "exceed_context_size_error":
            if "n_prompt_tokens" in error and "n_ctx" in error:
                raise context_exceeded(int(error["n_prompt_tokens"]), int(error["n_ctx"]))
            raise InputOverLimit(f"The prompt is too long for the model: {message}")
        if kind == "invalid_request_error":
            raise InvalidParameter(f"The engine refused the request: {message}")
        raise PredictionFailed(f"The LLM engine failed: {message}")


def context_exceeded(prompt_tokens: int, context: int) -> InputOverLimit:
    """The refusal of a prompt that leaves no room for an answer in a slot's context."""
    return InputOverLimit(
        f"The prompt is {prompt_tokens} tokens; the model's context holds {context} tokens "
        "per request, prompt and answer together."
    )


def _chat_request(request: dict[str, Any], stream: bool) -> dict[str, Any]:
    """A completion request for the engine's chat route: its log-probabilities are a flag
    and a count of alternatives, and a stream reports its usage at the end."""
    chat = dict(request)
    if "logprobs" in chat:
        chat["top_logprobs"] = chat.pop("logprobs")
        chat["logprobs"] = True
    if stream:
        chat["stream_options"] = {"include_usage": True}
    return chat


def _as_completion(reply: Chunk) -> Chunk:
    """A chat reply or chunk in the completion shape (``text`` for each choice)."""
    choices = []
    for choice in reply.get("choices") or []:
        said = choice.get("delta") or choice.get("message") or {}
        choices.append(
            {
                "text": said.get("content") or "",
                "logprobs": choice.get("logprobs"),
                "finish_reason": choice.get("finish_reason"),
            }
        )
    return {**reply, "choices": choices}
