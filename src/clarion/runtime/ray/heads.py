"""The Serve deployment class of the trained concept heads on one base embedder.

A trained concept model is a head (kilobytes: one weight row and bias per concept) on a base
embedder. On a cluster every head on one embedder runs in that embedder's heads application
(:func:`~clarion.runtime.ray.routes.heads_application`), not in a deployment of its own: its
replicas keep up to :data:`HEADS_PER_REPLICA` heads each, keyed by concept version id with
Serve's model multiplexing (Serve routes a request to a replica that holds its head and
evicts the least recently used head beyond that number), and embed by calling the
embedder's own application, so the embedder's dynamic batches take the inputs of every head
and of direct embedding calls together. The head is the one-process runner's own
(:meth:`HeadOnBase.read_head` of the version's runner family), so the scores are the same.

- a replica reads a head (the trained artefact its version's spec pins) when it first needs
  it; a missing artefact is 21313, as in one process, and the next request tries again;
- a retrained model is a new version id, so a new head; a deleted version's head is never
  asked for again and Serve evicts it in its turn;
- a cancelled request cancels its call on the embedder; one that finds the embedder scaled
  to zero and no replica of it started within ``CLARION_LOAD_WAIT_S`` answers 21355.

    response = predict_head(handle, version, inputs, params, timeout_s)
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from typing import Any, cast

import ray
from ray import serve
from ray.serve.handle import DeploymentHandle, DeploymentResponse

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.errors import InternalError, NotImplementedFeature
from clarion.runtime.backend import Deployment, Params
from clarion.runtime.ray.errors import awaited
from clarion.runtime.ray.replica import BATCHES_KEPT, ReplicaStats
from clarion.runtime.runner import Head, HeadOnBase, RunnerFactory
from clarion.runtime.threads import single_threaded_blas

#: The most heads one replica keeps; beyond it the least recently used is evicted.
HEADS_PER_REPLICA = 256
#: The deployment every Clarion application runs (an embedder's is called by name).
DEPLOYMENT = "model"


class _HeadSlot:
    """A head's place in a replica's multiplexed cache. Serve's loader is given only the
    version id, so the head is read on first use, from the version the request names."""

    def __init__(self) -> None:
        self.head: Head | None = None


class HeadsReplica:
    """Serves the heads on one base embedder, calling that embedder's application."""

    def __init__(
        self, base_application: str, factories: dict[str, RunnerFactory], settings: Settings
    ) -> None:
        self._base = base_application
        self._factories = factories
        self._settings = settings
        self._embedder: DeploymentHandle[Any] = serve.get_deployment_handle(
            DEPLOYMENT, app_name=base_application
        )
        self._sizes: deque[int] = deque(maxlen=BATCHES_KEPT)
        single_threaded_blas()

    @serve.multiplexed(max_num_models_per_replica=HEADS_PER_REPLICA)  # type: ignore[untyped-decorator]
    async def _slot(self, version_id: str) -> _HeadSlot:
        return _HeadSlot()

    async def predict(
        self, inputs: Sequence[Input], version: Deployment, timeout_s: float | None
    ) -> list[Output]:
        """The outputs of ``version``'s head (the request's multiplexed model id)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout_s is None else loop.time() + timeout_s
        slot: _HeadSlot = await self._slot(serve.get_multiplexed_model_id())
        if slot.head is None:  # read before embedding: a missing file fails at once
            slot.head = await asyncio.to_thread(self._read_head, version)
        head = slot.head
        left = None if deadline is None else max(0.0, deadline - loop.time())
        self._sizes.append(len(inputs))
        response = cast(
            "DeploymentResponse[Any]", self._embedder.predict.remote(list(inputs), None, left)
        )
        wait_s = self._settings.load_wait_s  # the embedder may be scaled to zero
        embedded: list[Output] = await awaited(
            response, self._base, app=self._base, load_wait_s=wait_s
        )
        return head.apply(embedded)

    def _read_head(self, version: Deployment) -> Head:
        factory = self._factories.get(version.runner)
        runner = None if factory is None else factory(version.spec, self._settings)
        if not isinstance(runner, HeadOnBase):
            raise InternalError(
                f"no family of heads on a base named {version.runner!r} is installed"
            )
        return runner.read_head()

    async def stream(self, item: Input, params: Params) -> AsyncGenerator[Output, None]:
        raise NotImplementedFeature("Trained concept models do not stream their outputs.")
        yield  # an async generator, as Serve's streaming calls need

    def stats(self) -> ReplicaStats:
        """Where the replica runs and the sizes of the embedder calls it made."""
        return ReplicaStats(ray.get_runtime_context().get_node_id(), tuple(self._sizes), 0)


def predict_head(
    heads: DeploymentHandle[Any],
    version: Deployment,
    inputs: Sequence[Input],
    params: Params,
    timeout_s: float | None,
) -> DeploymentResponse[Any]:
    """Call the head of ``version`` (a head on a base embedder) in its heads application."""
    if params is not None:
        raise InternalError(
            f"model version {version.version_id} is batchable, so it takes no params"
        )
    call = heads.options(multiplexed_model_id=version.version_id)
    return cast("DeploymentResponse[Any]", call.predict.remote(list(inputs), version, timeout_s))
