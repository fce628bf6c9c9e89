"""The one interface the service, training and preloading use to run models.

A backend serves model versions: it loads them, predicts batches of inputs and streams one
input's generation. :class:`LocalBackend` runs them in this process; another backend (Ray
Serve) can take its place behind the same methods. Nothing above the runtime touches a runner.

    backend: Backend = LocalBackend(RUNNER_FACTORIES, settings)
    version = Deployment.of(model, version_record)
    outputs = await backend.predict(version, inputs, GenerationParams(max_tokens=16))
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from clarion.domain.generation import GenerationParams
from clarion.domain.models import Model, ModelVersion
from clarion.domain.placement import ServedVersion
from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import Input, Output

#: The params of any model kind: generation params, or None for kinds that take none.
Params = GenerationParams | None


@dataclass(frozen=True)
class Deployment:
    """One model version as the runtime serves it: what to build, and its names."""

    model_id: str
    version_id: str
    #: The runner family that serves it (a key of the runner factories).
    runner: str
    spec: dict[str, Any] = field(hash=False, compare=False)
    #: Replicas and autoscaling on a cluster; None means the family's defaults.
    scaling: ScalingSettings | None = None

    @classmethod
    def of(cls, model: Model, version: ModelVersion) -> Deployment:
        return cls(model.model_id, version.id, version.runner, dict(version.spec), version.scaling)


class Backend(Protocol):
    """Loads and calls model versions."""

    async def load(self, version: Deployment) -> None:
        """Load ``version`` now (preloading); returns when it is ready."""

    async def predict(
        self,
        version: Deployment,
        inputs: Sequence[Input],
        params: Params = None,
        *,
        deadline: float | None = None,
    ) -> list[Output]:
        """One output per input, in order. Work still queued at ``deadline`` (event-loop
        time) is dropped with 21354."""

    def stream(
        self, version: Deployment, item: Input, params: Params = None
    ) -> AsyncGenerator[Output, None]:
        """Pieces of one input's output as they are produced, then a final summary (token
        counts, finish reason). Closing the iterator early stops the generation."""

    async def served(self) -> list[ServedVersion]:
        """The versions served now and where each one's replicas run."""

    async def close(self) -> None:
        """Unload everything."""
