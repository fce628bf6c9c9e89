"""PredictService on its own: toy runners behind the local backend, a registry in a temp dir."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clarion.auth import Principal
from clarion.config import MAX_BATCH_INPUTS, MAX_EMBED_INPUTS, Settings
from clarion.directory import ModelDirectory, ModelRef
from clarion.domain.generation import GenerationParams
from clarion.domain.output_config import ConceptRef, OutputConfig
from clarion.domain.values import Concept, Input, Output, RawInput
from clarion.errors import InvalidParameter, InvalidPredictRequest, InvalidRequest
from clarion.inputs import InputDecoder, UrlFetcher
from clarion.registry import Registry
from clarion.runtime import LocalBackend, Runner
from clarion.runtime.runner import RunnerFactory
from clarion.service import PredictService

CALLER = Principal(user_id="clarion", key_id="k")
#: Sizes of the batches each toy runner was called with, by family.
BATCHES: dict[str, list[int]] = {}


class ToyEmbedder(Runner[None]):
    """Embeds a text as [its length, 1]."""

    def __init__(self, _spec: dict[str, Any], _settings: Settings) -> None:
        pass

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        BATCHES.setdefault("embed", []).append(len(inputs))
        return [Output(embedding=np.array([len(i.text), 1.0], dtype=np.float32)) for i in inputs]


class ToyClassifier(Runner[None]):
    """Scores concepts a, b, c as 0.9, 0.5, 0.1."""

    def __init__(self, _spec: dict[str, Any], _settings: Settings) -> None:
        pass

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        return [Output(scores=np.array([0.9, 0.5, 0.1], dtype=np.float32)) for _ in inputs]


class ToyGenerator(Runner[GenerationParams]):
    """Answers with the params it was given."""

    batchable = False

    def __init__(self, _spec: dict[str, Any], _settings: Settings) -> None:
        pass

    def predict(self, inputs: Sequence[Input], params: GenerationParams) -> list[Output]:
        assert isinstance(params, GenerationParams)
        return [Output(text=f"{i.text}:{params.max_tokens}", completion_tokens=1) for i in inputs]


FACTORIES: dict[str, RunnerFactory] = {
    "embed": ToyEmbedder,
    "classify": ToyClassifier,
    "generate": ToyGenerator,
}


@pytest.fixture
def service(tmp_path: Path) -> Iterator[PredictService]:
    settings = Settings.from_env({"CLARION_HOME": str(tmp_path)}, batch_max_delay_ms=1.0)
    registry = Registry.open(settings.resolved_database_url)
    registry.ensure_app("clarion", "main")
    for model_id, model_type, runner, spec in [
        ("embedder", "text-embedder", "embed", {}),
        ("image-embedder", "visual-embedder", "embed", {}),
        ("classifier", "embedding-classifier", "classify", {"kind": "text"}),
        ("chat", "text-to-text", "generate", {}),
    ]:
        model = registry.ensure_model("clarion", "main", model_id, model_type_id=model_type)
        concepts = [Concept(c, c.upper()) for c in "abc"] if runner == "classify" else []
        registry.ensure_version(
            model, model_id.ljust(32, "0"), runner=runner, spec=spec, concepts=concepts
        )
    BATCHES.clear()
    yield PredictService(
        ModelDirectory(registry),
        InputDecoder(settings, UrlFetcher(settings)),
        LocalBackend(FACTORIES, settings),
    )
    registry.close()


def _ref(model_id: str) -> ModelRef:
    return ModelRef.of("", "", model_id)


def _texts(*texts: str) -> list[RawInput]:
    return [RawInput(id=str(i), text=t) for i, t in enumerate(texts)]


def test_generation_params_reach_the_runner_and_defaults_fill_in(service: PredictService) -> None:
    async def scenario() -> None:
        given = await service.predict(CALLER, _ref("chat"), _texts("hi"), GenerationParams(5))
        default = await service.predict(CALLER, _ref("chat"), _texts("hi"))
        assert given.results[0].output.text == "hi:5"
        assert default.results[0].output.text == f"hi:{GenerationParams().max_tokens}"

    asyncio.run(scenario())


def test_models_without_params_refuse_params_naming_them(service: PredictService) -> None:
    with pytest.raises(InvalidParameter, match="accepts no inference parameters, got: temper"):
        asyncio.run(
            service.predict(
                CALLER, _ref("embedder"), _texts("x"), GenerationParams(temperature=0.5)
            )
        )


def test_calls_check_the_model_type(service: PredictService) -> None:
    with pytest.raises(InvalidParameter, match="text-embedder model; generating text") as info:
        asyncio.run(service.complete(CALLER, _ref("embedder"), _texts("x")))
    assert info.value.parameter == "model"
    with pytest.raises(InvalidParameter, match="embeds images"):
        asyncio.run(service.embed_texts(CALLER, _ref("image-embedder"), ["x"]))
    with pytest.raises(InvalidParameter, match="text-to-text model; embedding text"):
        asyncio.run(service.embed_texts(CALLER, _ref("chat"), ["x"]))

    async def first_event(events: Any) -> Any:
        return await anext(events)

    with pytest.raises(InvalidRequest, match="does not stream"):
        asyncio.run(first_event(service.generate(CALLER, _ref("embedder"), _texts("x"))))
    with pytest.raises(InvalidParameter, match="generating text needs"):
        asyncio.run(first_event(service.stream_completion(CALLER, _ref("embedder"), _texts("x"))))


def test_embedding_batches_above_the_batch_limit_run_in_order(service: PredictService) -> None:
    texts = ["x" * (i % 7 + 1) for i in range(3 * MAX_BATCH_INPUTS + 5)]
    prediction = asyncio.run(service.embed_texts(CALLER, _ref("embedder"), texts))
    assert [r.input_id for r in prediction.results] == [str(i) for i in range(len(texts))]
    lengths = [r.output.embedding[0] for r in prediction.results if r.output.embedding is not None]
    assert lengths == [len(t) for t in texts]
    assert max(BATCHES["embed"]) <= MAX_BATCH_INPUTS
    with pytest.raises(InvalidPredictRequest, match=f"1 to {MAX_EMBED_INPUTS} inputs"):
        asyncio.run(service.embed_texts(CALLER, _ref("embedder"), ["x"] * (MAX_EMBED_INPUTS + 1)))
    with pytest.raises(InvalidPredictRequest):
        asyncio.run(service.predict(CALLER, _ref("embedder"), _texts(*texts)))


def test_an_input_that_cannot_be_decoded_fails_alone(service: PredictService) -> None:
    inputs = [RawInput(id="good", text="fine"), RawInput(id="empty"), RawInput(id="too", text="ok")]
    prediction = asyncio.run(service.predict(CALLER, _ref("embedder"), inputs))
    assert [r.input_id for r in prediction.results] == ["good", "empty", "too"]
    errors = [r.output.error is not None for r in prediction.results]
    assert errors == [False, True, False]
    assert prediction.results[2].output.embedding is not None


def test_the_output_config_is_applied_to_scores(service: PredictService) -> None:
    async def concepts(config: OutputConfig) -> list[tuple[str, float]]:
        prediction = await service.predict(CALLER, _ref("classifier"), _texts("x"), None, config)
        return [(c.id, round(c.value, 2)) for c in prediction.results[0].output.concepts]

    async def scenario() -> None:  # one event loop: the loaded version's batcher lives in it
        assert await concepts(OutputConfig()) == [("a", 0.9), ("b", 0.5), ("c", 0.1)]
        assert await concepts(OutputConfig(max_concepts=2)) == [("a", 0.9), ("b", 0.5)]
        assert await concepts(OutputConfig(min_value=0.4)) == [("a", 0.9), ("b", 0.5)]
        selected = (ConceptRef(id="c"), ConceptRef(name="B"))
        assert await concepts(OutputConfig(select_concepts=selected)) == [
            ("b", 0.5),
            ("c", 0.1),
        ]
        with pytest.raises(InvalidParameter, match="select_concepts applies to classifiers"):
            config = OutputConfig(select_concepts=selected)
            await service.predict(CALLER, _ref("embedder"), _texts("x"), None, config)

    asyncio.run(scenario())
