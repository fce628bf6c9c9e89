"""The ``/v1`` routes: models, chat completions, completions and embeddings.

A thin adapter: it parses OpenAI bodies, maps them onto the same :class:`PredictService`
calls, inputs and :class:`GenerationParams` names as the Clarifai API, and writes OpenAI
responses. Keys are the same PATs, sent as ``Authorization: Bearer <PAT>``. Model names are
Clarion model ids (``smollm2-135m-instruct`` for the built-in ones) or
``user/app/model[:version]``.
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import numpy as np
import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from clarion import __version__
from clarion.api.json_body import read_json_object
from clarion.api.json_response import FastJSONResponse
from clarion.api.openai.errors import error_body, from_validation, openai_error
from clarion.api.openai.openapi import openapi_document
from clarion.api.openai.responses import (
    CHAT_CHUNKS,
    COMPLETION_CHUNKS,
    ChunkFormat,
    chat_response,
    completion_response,
    raise_first_error,
)
from clarion.api.openai.schemas import (
    ChatCompletionRequest,
    CompletionRequest,
    EmbeddingRequest,
    _Sampling,
)
from clarion.api.rest.auth import KeyedRoutes, caller
from clarion.auth import PUBLIC_USER, Principal
from clarion.directory import ModelDirectory, ModelRef
from clarion.domain.generation import GenerationParams, reasoning_effort, stop_sequences
from clarion.domain.values import ChatMessage, RawInput
from clarion.errors import ClarionError, InvalidParameter
from clarion.registry import Page
from clarion.service import PredictService, StreamEvent

Body = TypeVar("Body", bound=BaseModel)


def model_ref(name: str) -> ModelRef:
    """A model name: ``model_id``, ``user/app/model_id``, either with ``:version``."""
    name, _, version = name.partition(":")
    parts = name.split("/")
    if len(parts) == 3 and all(parts):
        return ModelRef.of(parts[0], parts[1], parts[2], version)
    if len(parts) == 1 and parts[0]:
        return ModelRef.of("", "", parts[0], version)
    raise InvalidParameter(
        f"model must be a model id or user/app/model_id, got {name!r}.", parameter="model"
    )


def sampling_values(body: _Sampling, max_tokens: int | None) -> dict[str, Any]:
    """The OpenAI sampling fields a request sets, by their :class:`GenerationParams` names."""
    values: dict[str, Any] = {
        "temperature": body.temperature,
        "top_p": body.top_p,
        "top_k": body.top_k,
        "seed": body.seed,
        "stop": stop_sequences(body.stop) if body.stop is not None else None,
        "max_tokens": max_tokens,
    }
    return {k: v for k, v in values.items() if v is not None}


def chat_params(body: ChatCompletionRequest) -> GenerationParams:
    """The generation params of a chat completion request (validated on construction)."""
    values = sampling_values(body, body.max_completion_tokens or body.max_tokens)
    if body.reasoning_effort is not None:
        values["reasoning_effort"] = reasoning_effort(body.reasoning_effort)
    if body.response_format is not None and body.response_format.type != "text":
        schema = body.response_format.json_schema
        values["json_schema"] = schema.schema_ if schema is not None else {"type": "object"}
    if body.logprobs:
        values.update(logprobs=True, top_logprobs=body.top_logprobs or 0)
    return GenerationParams(**values)


def completion_params(body: CompletionRequest) -> GenerationParams:
    """The generation params of a text completion request: raw text, no chat template."""
    values = sampling_values(body, body.max_tokens or 16)
    values["prompt_template"] = "{prompt}"
    if body.echo:
        values["return_full_text"] = True
    if body.logprobs is not None:
        values.update(logprobs=True, top_logprobs=body.logprobs)
    return GenerationParams(**values)


class OpenAIApi:
    """Handlers for the ``/v1`` routes and ``/openapi.json``."""

    def __init__(
        self,
        directory: ModelDirectory,
        predictor: PredictService,
        max_body_bytes: int,
    ) -> None:
        self._directory = directory
        self._predictor = predictor
        self._max_body_bytes = max_body_bytes

    def keyed_routes(self) -> KeyedRoutes:
        """Every route, each needing a key; a refused caller gets an OpenAI error body."""
        routes = (
            Route("/v1/models", self._guard(self.models), methods=["GET"]),
            Route("/v1/chat/completions", self._guard(self.chat), methods=["POST"]),
            Route("/v1/completions", self._guard(self.completions), methods=["POST"]),
            Route("/v1/embeddings", self._guard(self.embeddings), methods=["POST"]),
            Route("/openapi.json", self._guard(self.openapi), methods=["GET"]),
        )
        return KeyedRoutes(routes, refuse=lambda _request, error: openai_error(error))

    def _guard(
        self, handler: Callable[[Request, Principal], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """Run ``handler`` for the caller; every error becomes an OpenAI error body."""

        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request, caller(request))
            except ClarionError as exc:
                return openai_error(exc)

        return endpoint

    async def _parse(self, request: Request, schema: type[Body]) -> Body:
        data = await read_json_object(request, self._max_body_bytes)
        try:
            return schema.model_validate(data)
        except ValidationError as exc:
            raise from_validation(exc) from exc

    # routes --------------------------------------------------------------------------

    async def models(self, _request: Request, principal: Principal) -> Response:
        records = self._directory.list_models(principal, "", "", Page(1, 1000))
        data = [
            {
                "id": m.model_id
                if m.user_id == PUBLIC_USER
                else f"{m.user_id}/{m.app_id}/{m.model_id}",
                "object": "model",
                "created": int(m.created_at.timestamp()),
                "owned_by": m.user_id,
            }
            for m in records
        ]
        return FastJSONResponse({"object": "list", "data": data})

    async def openapi(self, _request: Request, _principal: Principal) -> Response:
        return FastJSONResponse(openapi_document(__version__))

    async def chat(self, request: Request, principal: Principal) -> Response:
        body = await self._parse(request, ChatCompletionRequest)
        ref = model_ref(body.model)
        params = chat_params(body)
        messages = tuple(
            ChatMessage("system" if m.role == "developer" else m.role, m.text())
            for m in body.messages
        )
        inputs = [RawInput(id=str(i), messages=messages) for i in range(body.n)]
        meta = _Meta(body.model, "chatcmpl")
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return await self._sse(principal, ref, inputs, params, meta, CHAT_CHUNKS, include_usage)
        prediction = await self._predictor.complete(principal, ref, inputs, params)
        return FastJSONResponse(chat_response(prediction, meta.id, meta.created, body.model))

    async def completions(self, request: Request, principal: Principal) -> Response:
        body = await self._parse(request, CompletionRequest)
        ref = model_ref(body.model)
        params = completion_params(body)
        prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
        inputs = [
            RawInput(id=str(i * body.n + j), text=p)
            for i, p in enumerate(prompts)
            for j in range(body.n)
        ]
        meta = _Meta(body.model, "cmpl")
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return await self._sse(
                principal, ref, inputs, params, meta, COMPLETION_CHUNKS, include_usage
            )
        prediction = await self._predictor.complete(principal, ref, inputs, params)
        return FastJSONResponse(completion_response(prediction, meta.id, meta.created, body.model))

    async def embeddings(self, request: Request, principal: Principal) -> Response:
        body = await self._parse(request, EmbeddingRequest)
        texts = [body.input] if isinstance(body.input, str) else body.input
        if not all(isinstance(t, str) for t in texts):
            raise InvalidParameter(
                "input must be a string or a list of strings; token arrays are not supported.",
                parameter="input",
            )
        prediction = await self._predictor.embed_texts(
            principal, model_ref(body.model), [str(t) for t in texts]
        )
        results = prediction.results
        raise_first_error(results)
        dims = len(results[0].output.embedding) if results[0].output.embedding is not None else 0
        if body.dimensions is not None and body.dimensions != dims:
            raise InvalidParameter(
                f"dimensions must be {dims} for model {body.model} (it cannot shorten its "
                f"vectors), got {body.dimensions}.",
                parameter="dimensions",
            )
        data = []
        for index, result in enumerate(results):
            vector = np.asarray(result.output.embedding, dtype="<f4")
            encoded: Any = (
                base64.b64encode(vector.tobytes()).decode()
                if body.encoding_format == "base64"
                else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(r.output.prompt_tokens for r in results)
        return FastJSONResponse(
            {
                "object": "list",
                "data": data,
                "model": body.model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    # streaming -----------------------------------------------------------------------

    async def _sse(
        self,
        principal: Principal,
        ref: ModelRef,
        inputs: list[RawInput],
        params: GenerationParams,
        meta: _Meta,
        chunks: ChunkFormat,
        include_usage: bool,
    ) -> Response:
        """Server-sent events; errors found before the first token are plain HTTP errors."""
        events = self._predictor.stream_completion(principal, ref, inputs, params)
        first = await anext(events)  # resolves the model and validates the params
        if first.output.error is not None and first.final:
            raise first.output.error

        async def stream() -> AsyncIterator[bytes]:
            finals: list[StreamEvent] = []
            try:
                event: StreamEvent | None = first
                while event is not None:
                    if event.output.error is not None:
                        yield _sse(error_body(event.output.error))
                        break
                    if event.final:
                        finals.append(event)
                    yield _sse(chunks.chunk(event, meta.id, meta.created, meta.model))
                    event = await anext(events, None)
                if include_usage:
                    outputs = [e.output for e in finals]
                    yield _sse(chunks.usage_chunk(outputs, meta.id, meta.created, meta.model))
                yield b"data: [DONE]\n\n"
            finally:
                await events.aclose()

        return StreamingResponse(stream(), media_type="text/event-stream")


class _Meta:
    """The id, creation time and model name every response and chunk repeats."""

    def __init__(self, model: str, prefix: str) -> None:
        self.model = model
        self.id = f"{prefix}-{uuid.uuid4().hex}"
        self.created = int(time.time())


def _sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(payload) + b"\n\n"
