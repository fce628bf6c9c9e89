"""PredictService: the one orchestrator every protocol adapter calls to run a model.

principal -> resolve model + version (latest when none is named)
          -> check the model's type against the call and the params it was given
          -> decode inputs in parallel (per-input failures kept, not raised)
          -> backend (one batch for all decodable inputs)
          -> apply the output config to classifier scores
          -> Prediction with a result per input, in request order

Adapters build the typed params themselves (:class:`GenerationParams`, :class:`OutputConfig`);
the service decides whether the model takes them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing, nullcontext
from dataclasses import dataclass

from clarion.auth import Principal
from clarion.catalog import MODEL_TYPES
from clarion.config import MAX_BATCH_INPUTS, MAX_EMBED_INPUTS
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
from clarion.runtime import Backend, Deployment

#: Model types whose runners generate text and take :class:`GenerationParams`.
GENERATIVE_TYPES = frozenset({"text-to-text"})
#: The model type that embeds text.
TEXT_EMBEDDER = "text-embedder"


@dataclass(frozen=True)
class StreamEvent:
    """A piece of one input's streamed output; ``final`` marks its last event."""

    model: Model
    version: ModelVersion
    input_id: str
    output: Output
    final: bool = False


def params_for(model: Model, params: GenerationParams | None) -> GenerationParams | None:
    """The params ``model`` runs with: generation params (the defaults when none are given)
    for generative models; None for kinds that take no params, which refuse any."""
    if model.model_type_id in GENERATIVE_TYPES:
        return params or GenerationParams()
    if params is not None:
        names = params.overrides()
        raise InvalidParameter(
            f"Model {model.model_id} ({model.model_type_id}) accepts no inference "
            f"parameters, got: {', '.join(names) or 'generation parameters'}.",
            parameter=names[0] if names else "",
        )
    return None


def _check_batch(kind: str, inputs: Sequence[object], limit: int = MAX_BATCH_INPUTS) -> None:
    if not 1 <= len(inputs) <= limit:
        raise InvalidPredictRequest(
            f"A {kind} request must carry 1 to {limit} inputs, got {len(inputs)}."
        )


def _require_generative(model: Model) -> None:
    if model.model_type_id not in GENERATIVE_TYPES:
        raise InvalidParameter(
            f"Model {model.model_id} is a {model.model_type_id} model; generating text needs "
            "a text-to-text model.",
            parameter="model",
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
        backend: Backend,
        request_timeout_s: float = 120.0,
        limits: KeyLimits | None = None,
    ) -> None:
        self._directory = directory
        self._decoder = decoder
        self._backend = backend
        self._request_timeout_s = request_timeout_s
        self._limits = limits or KeyLimits()

    async def predict(
        self,
        principal: Principal,
        ref: ModelRef,
        inputs: Sequence[RawInput],
        params: GenerationParams | None = None,
        output_config: OutputConfig | None = None,
        timeout_s: float | None = None,
    ) -> Prediction:
        """Predict ``inputs`` on the model ``ref`` names, whatever its kind.

        ``timeout_s`` is how long the caller will wait (e.g. its gRPC deadline); queued work
        still waiting after that, or after ``CLARION_REQUEST_TIMEOUT_S``, is dropped.
        """
        _check_batch("predict", inputs)
        model, version = self._directory.resolve(principal, ref)
        self._check_trained(version)
        chosen = params_for(model, params)
        return await self._predict(
            principal, model, version, inputs, chosen, output_config or OutputConfig(), timeout_s
        )

    async def complete(
        self,
        principal: Principal,
        ref: ModelRef,
        inputs: Sequence[RawInput],
        params: GenerationParams | None = None,
        timeout_s: float | None = None,
    ) -> Prediction:
        """Generate text for ``inputs``; the model must be a text-to-text model."""
        _check_batch("predict", inputs)
        model, version = self._directory.resolve(principal, ref)
        _require_generative(model)
        chosen = params_for(model, params)
        return await self._predict(
            principal, model, version, inputs, chosen, OutputConfig(), timeout_s
        )

    async def embed_texts(
        self, principal: Principal, ref: ModelRef, texts: Sequence[str]
    ) -> Prediction:
        """Embed up to :data:`MAX_EMBED_INPUTS` texts (more than one batch holds) with a text
        embedder; the results keep the texts' order, input ids are their positions."""
        _check_batch("embedding", texts, MAX_EMBED_INPUTS)
        model, version = self._directory.resolve(principal, ref)
        if model.model_type_id == "visual-embedder":
            raise InvalidParameter(
                f"Model {model.model_id} embeds images; send images through the Clarifai API "
                "(PostModelOutputs with data.image); text needs a text-embedder model.",
                parameter="model",
            )
        if model.model_type_id != TEXT_EMBEDDER:
            raise InvalidParameter(
                f"Model {model.model_id} is a {model.model_type_id} model; embedding text "
                f"needs a {TEXT_EMBEDDER} model.",
                parameter="model",
            )
        raw = [RawInput(id=str(i), text=t) for i, t in enumerate(texts)]
        chunks = [raw[i : i + MAX_BATCH_INPUTS] for i in range(0, len(raw), MAX_BATCH_INPUTS)]
        parts = await asyncio.gather(
            *(
                self._predict(principal, model, version, chunk, None, OutputConfig(), None)
                for chunk in chunks
            )
        )
        return Prediction(
            model=model, version=version, results=tuple(r for p in parts for r in p.results)
        )

    async def _predict(
        self,
        principal: Principal,
        model: Model,
        version: ModelVersion,
        inputs: Sequence[RawInput],
        params: GenerationParams | None,
        config: OutputConfig,
        timeout_s: float | None,
    ) -> Prediction:
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
                await self._backend.predict(
                    Deployment.of(model, version),
                    ready,
                    params,
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
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """Stream a generative model's output for each input as it is produced; other
        models are refused as not streaming (the Clarifai API's GenerateModelOutputs).

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
        async with aclosing(self._stream(principal, model, version, inputs, params)) as events:
            async for event in events:
                yield event

    async def stream_completion(
        self,
        principal: Principal,
        ref: ModelRef,
        inputs: Sequence[RawInput],
        params: GenerationParams | None = None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """:meth:`generate` for a call that needs a text-to-text model (refused with
        21202 otherwise), as :meth:`complete` does."""
        _check_batch("generate", inputs)
        model, version = self._directory.resolve(principal, ref)
        _require_generative(model)
        async with aclosing(self._stream(principal, model, version, inputs, params)) as events:
            async for event in events:
                yield event

    async def _stream(
        self,
        principal: Principal,
        model: Model,
        version: ModelVersion,
        inputs: Sequence[RawInput],
        params: GenerationParams | None,
    ) -> AsyncGenerator[StreamEvent, None]:
        chosen = params_for(model, params)
        deployment = Deployment.of(model, version)

        def one(raw: RawInput) -> AsyncGenerator[StreamEvent, None]:
            return self._input_events(model, version, deployment, raw, chosen)

        with self._limits.generating(principal, len(inputs)):
            if len(inputs) == 1:
                # Read in the consumer's own task: when the consumer goes away, the input's
                # place in the model is freed in that same step, not a task switch later.
                async with aclosing(one(inputs[0])) as only:
                    async for event in only:
                        yield event
                return
            events: asyncio.Queue[StreamEvent | None] = asyncio.Queue()

            async def run(raw: RawInput) -> None:
                async with aclosing(one(raw)) as input_events:
                    async for each in input_events:
                        await events.put(each)

            def finished(all_done: asyncio.Future[list[None]]) -> None:
                if not all_done.cancelled():
                    all_done.exception()  # retrieved: each input reports its errors as events
                events.put_nowait(None)

            tasks = [asyncio.ensure_future(run(raw)) for raw in inputs]
            asyncio.gather(*tasks).add_done_callback(finished)
            try:
                while (next_event := await events.get()) is not None:
                    yield next_event
            finally:
                for task in tasks:
                    task.cancel()

    async def _input_events(
        self,
        model: Model,
        version: ModelVersion,
        deployment: Deployment,
        raw: RawInput,
        params: GenerationParams | None,
    ) -> AsyncGenerator[StreamEvent, None]:
        """One input's events: a piece for each text it generates, then its final event
        (its token counts, or its error)."""
        try:
            item = await self._decoder.decode(raw, InputKind.TEXT)
            final = Output()
            async with aclosing(self._backend.stream(deployment, item, params)) as pieces:
                async for piece in pieces:
                    final = piece
                    if piece.text:
                        yield StreamEvent(model, version, raw.id, piece)
        except ClarionError as exc:
            yield StreamEvent(model, version, raw.id, Output(error=exc), final=True)
            return
        yield StreamEvent(model, version, raw.id, final, final=True)

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
