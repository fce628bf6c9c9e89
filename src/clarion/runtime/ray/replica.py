"""The Serve deployment class: one model version inside a Ray Serve replica.

A replica holds a :class:`LocalBackend` serving just that version, so its runner, dynamic
batcher, admission and runner timeout behave exactly as in one process. Only domain values
cross: inputs, params and outputs in, outputs (or a :class:`ClarionError`) out.

- :meth:`predict` takes the time left before the request's deadline (the caller's event-loop
  clock means nothing here) and applies it to the replica's own queue; :meth:`predict_all`
  runs the requests of one coalesced call (:mod:`~clarion.runtime.ray.coalesce`) each as a
  request of its own, at once, and returns each one's outputs or error. Serve bounds the
  calls a replica takes; the replica bounds the requests they carry together to the same
  number (``max_ongoing_requests + max_queued_requests``) and refuses those beyond with
  21354, as Serve's back-pressure refuses calls;
- :meth:`stream` is an async generator: when the caller cancels the Ray request, the
  replica's task gets ``CancelledError`` at its current ``yield`` and closing the local stream
  tells the runner to stop, which frees the engine slot;
- :meth:`stats` reports where the replica runs, the batch sizes it ran and the requests
  its calls carried (diagnostics).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import ray

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.errors import ClarionError, ModelBusy, PredictionFailed
from clarion.runtime.backend import Deployment, Params
from clarion.runtime.local import ChangedFiles, LocalBackend
from clarion.runtime.observer import NoObserver
from clarion.runtime.ray.coalesce import Request, Result
from clarion.runtime.ray.options import effective_scaling
from clarion.runtime.runner import RunnerFactory

#: The replicas' interface: part of every application's Serve code version, so that a
#: front end deploying replicas of a new interface (2: ``predict_all``) replaces running
#: ones of an older interface instead of reconfiguring them. Bump it when a replica method
#: that front ends call changes.
REPLICA_INTERFACE = 2
#: How many of the latest batch sizes a replica remembers for :meth:`ModelReplica.stats`.
BATCHES_KEPT = 1000


@runtime_checkable
class CountsTokens(Protocol):
    """A runner that counts the tokens its engine generated since it was loaded."""

    @property
    def generated_tokens(self) -> int: ...


@dataclass(frozen=True)
class ReplicaStats:
    node_id: str
    #: The sizes of the latest model calls, oldest first.
    batch_sizes: tuple[int, ...]
    #: Tokens generated since the replica loaded (0 for models that generate none).
    generated_tokens: int
    #: How many requests each of the latest predict calls carried, oldest first.
    call_sizes: tuple[int, ...] = ()


class _BatchRecorder(NoObserver):
    def __init__(self) -> None:
        self.sizes: deque[int] = deque(maxlen=BATCHES_KEPT)

    def on_batch(self, version: Deployment, size: int) -> None:
        self.sizes.append(size)


class ModelReplica:
    """Serves one model version in a Serve replica; loaded before it takes requests."""

    async def __init__(  # type: ignore[misc]  # Serve awaits an async constructor
        self,
        version: Deployment,
        factories: dict[str, RunnerFactory],
        settings: Settings,
        changed_files: ChangedFiles | None = None,
    ) -> None:
        # Serve scales replicas instead: nothing here is unloaded while the replica lives.
        local = replace(settings, idle_unload_s=0.0, memory_budget_mb=0)
        self._version = version
        scaling = effective_scaling(version, settings)
        #: The most requests this replica carries at once, and how many it carries now.
        self._request_limit = scaling.max_ongoing_requests + scaling.max_queued_requests
        self._requests = 0
        self._batches = _BatchRecorder()
        self._calls: deque[int] = deque(maxlen=BATCHES_KEPT)
        self._backend = LocalBackend(factories, local, self._batches, changed_files)
        await self._backend.load(version)

    async def predict(
        self, inputs: Sequence[Input], params: Params, timeout_s: float | None
    ) -> list[Output]:
        deadline = None
        if timeout_s is not None:
            deadline = asyncio.get_running_loop().time() + timeout_s
        return await self._backend.predict(self._version, inputs, params, deadline=deadline)

    async def predict_all(self, requests: Sequence[Request]) -> list[Result]:
        self._calls.append(len(requests))
        taken = min(len(requests), max(0, self._request_limit - self._requests))
        self._requests += taken
        try:
            answers = await asyncio.gather(
                *(self.predict(r.inputs, r.params, r.timeout_s) for r in requests[:taken]),
                return_exceptions=True,
            )
        finally:
            self._requests -= taken
        refused = [self._busy() for _ in requests[taken:]]
        return [self._result(answer) for answer in answers] + refused

    def _busy(self) -> ModelBusy:
        return ModelBusy(
            f"Model version {self._version.version_id} has {self._request_limit} requests "
            "running or waiting on its replica, as many as it takes; retry shortly."
        )

    def _result(self, answer: list[Output] | BaseException) -> Result:
        """An answer as it crosses back: outputs, a Clarion error, or any other failure as
        21313 naming the version (its exception may not cross)."""
        if isinstance(answer, BaseException) and not isinstance(answer, ClarionError):
            return PredictionFailed(f"Model version {self._version.version_id} failed: {answer!r}")
        return answer

    async def stream(self, item: Input, params: Params) -> AsyncGenerator[Output, None]:
        async with aclosing(self._backend.stream(self._version, item, params)) as pieces:
            async for piece in pieces:
                yield piece

    def stats(self) -> ReplicaStats:
        runners: list[Any] = self._backend.loaded_runners()
        tokens = sum(r.generated_tokens for r in runners if isinstance(r, CountsTokens))
        node = ray.get_runtime_context().get_node_id()
        return ReplicaStats(node, tuple(self._batches.sizes), tokens, tuple(self._calls))

    async def __del__(self) -> None:
        await self._backend.close()
