"""PredictService: the one orchestrator every protocol adapter calls to run a model.

principal -> resolve model + version (latest when none is named)
          -> validate params and output config for the model's kind
          -> decode inputs in parallel (per-input failures kept, not raised)
          -> runtime (one batch for all decodable inputs)
          -> apply the output config to classifier scores
          -> Prediction with a result per input, in request order
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing, nullcontext
from dataclasses import dataclass
from typing import Any

from clarion.auth import Principal
from clarion.catalog import MODEL_TYPES
from clarion.config import MAX_BATCH_INPUTS
from clarion.directory import ModelDirectory, ModelRef
from clarion.domain.generation import GenerationParams
from clarion.domain.models import Model, ModelVersion
from clarion.domain.output_config import OutputConfig
from clarion.domain.prediction import Prediction
from clarion.domain.values import Input, InputKind, InputResult, Output, RawInput
from clarion.errors import (
    ClarionError,
    InvalidParameter,
    InvalidPredictRequest,
    InvalidRequest,
    ModelNotReady,
)
from clarion.inputs import InputDecoder
from clarion.limits import KeyLimits
from clarion.runtime import RunnerPool

#: Model types whose runners generate text and take :class:`GenerationParams`.
GENERATIVE_TYPES = frozenset({"text-to-text"})


@dataclass(frozen=True)
class StreamEvent:
    """A piece of one input's streamed output; ``final`` marks its last event."""

    model: Model
    version: ModelVersion
    input_id: str
    output: Output
    final: bool = False


def parse_params(model: Model, params: Mapping[str, Any] | None) -> Any:
    """The model kind's validated params object (None for kinds that take no params)."""
    if model.model_type_id in GENERATIVE_TYPES:
        return GenerationParams.parse(params)
    if params:
        raise InvalidParameter(
            f"Model {model.model_id} ({model.model_type_id}) accepts no inference "
            f"parameters, got: {', '.join(sorted(params))}.",
            parameter=sorted(params)[0],
        )
    return None


def _check_batch(kind: str, inputs: Sequence[RawInput]) -> None:
    if not 1 <= len(inputs) <= MAX_BATCH_INPUTS:
        raise InvalidPredictRequest(
            f"A {kind} request must carry 1 to {MAX_BATCH_INPUTS} inputs, got {len(inputs)}."
        )


def input_kind_of(model_type_id: str, version: ModelVersion | None = None) -> InputKind:
    """What a model consumes: a trained version says so itself (text or image)."""
    if version is not None and version.input_kind is not None:
        return version.input_kind
    model_type = MODEL_TYPES.get(model_type_id)
    if model_type is None or not model_type.input_fields:
        return InputKind.TEXT
    return InputKind(model_type.input_fields[0])


class PredictService:
    """Runs predictions for authenticated callers."""

    def __init__(
        self,
        directory: ModelDirectory,
        decoder: InputDecoder,
        pool: RunnerPool,
        request_timeout_s: float = 120.0,
        limits: KeyLimits | None = None,
    ) -> None:
        self._directory = directory
        self._decoder = decoder
        self._pool = pool
        self._request_timeout_s = request_timeout_s
        self._limits = limits or KeyLimits()

    async def predict(
        self,
        principal: Principal,
        ref: ModelRef,
        inputs: Sequence[RawInput],
        params: Mapping[str, Any] | None = None,
        output_config: OutputConfig | None = None,
        timeout_s: float | None = None,
    ) -> Prediction:
        """Predict ``inputs`` on the model ``ref`` names.

        ``timeout_s`` is how long the caller will wait (e.g. its gRPC deadline); queued work
        still waiting after that, or after ``CLARION_REQUEST_TIMEOUT_S``, is dropped.
        """
        _check_batch("predict", inputs)
        model, version = self._directory.resolve(principal, ref)
        self._check_trained(version)
        parsed = parse_params(model, params)
        config = output_config or OutputConfig()
        vocabulary = self._directory.concepts(version)
        if config.select_concepts and not vocabulary:
            raise InvalidParameter(
                f"Model {model.model_id} ({model.model_type_id}) has no concepts; "
                "select_concepts applies to classifiers.",
                parameter="select_concepts",
            )
        selection = config.select(vocabulary, model.model_id)
        kind = input_kind_of(model.model_type_id, version)
        generative = model.model_type_id in GENERATIVE_TYPES
        with self._limits.generating(principal, len(inputs)) if generative else nullcontext():
            decoded = await self._decoder.decode_all(inputs, kind)
            ready = [d for d in decoded if isinstance(d, Input)]
            outputs = iter(
                await self._pool.predict(
                    version,
                    ready,
                    parsed,
                    model_id=model.model_id,
                    deadline=self._deadline(timeout_s),
                )
                if ready
                else []
            )
        results = []
        for raw, item in zip(inputs, decoded, strict=True):
            output = next(outputs) if isinstance(item, Input) else Output(error=item)
            if output.scores is not None:
                output = Output(concepts=config.apply(output.scores, vocabulary, selection))
            results.append(InputResult(input_id=raw.id, output=output))
        return Prediction(
            model=model,
            version=version,
            results=tuple(results),
            unknown_concepts=selection.unknown if selection else (),
        )

    async def generate(
        self,
        principal: Principal,
        ref: ModelRef,
        inputs: Sequence[RawInput],
        params: Mapping[str, Any] | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream a generative model's output for each input as it is produced.

        Inputs run concurrently; events of different inputs interleave. Each input ends with
        a final event (``final`` set) carrying its token counts, or its error.
        """
        _check_batch("generate", inputs)
        model, version = self._directory.resolve(principal, ref)
        if model.model_type_id not in GENERATIVE_TYPES:
            raise InvalidRequest(
                f"Model {model.model_id} ({model.model_type_id}) does not stream; "
                "use PostModelOutputs."
            )
        parsed = parse_params(model, params)
        with self._limits.generating(principal, len(inputs)):
            async with aclosing(self._generate(model, version, inputs, parsed)) as events:
                async for event in events:
                    yield event

    async def _generate(
        self,
        model: Model,
        version: ModelVersion,
        inputs: Sequence[RawInput],
        parsed: Any,
    ) -> AsyncGenerator[StreamEvent, None]:
        events: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

        async def run(raw: RawInput) -> None:
            try:
                item = await self._decoder.decode(raw, InputKind.TEXT)
                final = Output()
                async for piece in self._pool.stream(
                    version, item, parsed, model_id=model.model_id
                ):
                    final = piece
                    if piece.text:
                        await events.put(StreamEvent(model, version, raw.id, piece))
                await events.put(StreamEvent(model, version, raw.id, final, final=True))
            except ClarionError as exc:
                await events.put(StreamEvent(model, version, raw.id, Output(error=exc), final=True))

        def finished(all_done: asyncio.Future[list[None]]) -> None:
            if not all_done.cancelled():
                all_done.exception()  # retrieved: each task reports its own errors as events
            events.put_nowait(None)

        tasks = [asyncio.ensure_future(run(raw)) for raw in inputs]
        asyncio.gather(*tasks).add_done_callback(finished)
        try:
            while (event := await events.get()) is not None:
                yield event
        finally:
            for task in tasks:
                task.cancel()

    def _check_trained(self, version: ModelVersion) -> None:
        state = self._directory.training(version)
        if state is not None and not state.ready:
            raise ModelNotReady(
                f"Model version {version.id} cannot predict yet: {state.description}",
                code=state.status,
            )

    def _deadline(self, timeout_s: float | None) -> float:
        limit = self._request_timeout_s
        if timeout_s is not None:
            limit = min(limit, timeout_s)
        return asyncio.get_running_loop().time() + limit
