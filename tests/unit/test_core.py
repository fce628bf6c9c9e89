"""Core: preloading loads the chosen models at once, the biggest known first."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from clarion.auth import PUBLIC_USER
from clarion.core import Core
from clarion.domain.models import Model, ModelVersion
from clarion.runtime.backend import Deployment

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _model(model_id: str, spec: dict[str, Any]) -> tuple[Model, ModelVersion]:
    model = Model(PUBLIC_USER, "main", model_id, "text-to-text", model_id, "", NOW)
    return model, ModelVersion(f"v-{model_id}", model_id, "", NOW, "runner", spec)


class _Registry:
    def __init__(self, models: list[tuple[Model, ModelVersion]]) -> None:
        self._models = dict(models)

    def list_models(self, _users: object, _page: object) -> list[Model]:
        return list(self._models)

    def get_version(self, model: Model) -> ModelVersion:
        return self._models[model]


class _Backend:
    """Counts the loads running at once; each waits until every load has begun."""

    def __init__(self, expected: int) -> None:
        self.started: list[str] = []
        self._expected = expected
        self._all_begun = asyncio.Event()

    async def load(self, version: Deployment) -> None:
        self.started.append(version.model_id)
        if len(self.started) == self._expected:
            self._all_begun.set()
        await asyncio.wait_for(self._all_begun.wait(), 5)


def test_preloading_loads_every_chosen_model_at_once_biggest_first() -> None:
    models = [
        _model("small", {}),
        _model("big", {"memory_mib": 2400}),
        _model("medium", {"memory_mib": 600}),
        _model("left-out", {}),
    ]
    backend = _Backend(expected=3)
    core: Any = SimpleNamespace(
        settings=SimpleNamespace(preload=frozenset({"small", "big", "medium"})),
        registry=_Registry(models),
        backend=backend,
    )
    # sequential loads would wait forever for the others to begin (and time out)
    loaded = asyncio.run(Core.preload(core))
    assert backend.started == ["big", "medium", "small"]
    assert loaded == ["big", "medium", "small"]
