"""The in-process backend: runners loaded in this process, called in worker threads.

It composes the runtime's parts: :class:`Residency` loads and unloads versions, each loaded
version gets its :class:`InFlight` admission, its threads (:class:`ModelThreads`, shared or
its own) and, when its runner is batchable, a :class:`DynamicBatcher`. How a call runs
follows the runner's declared capabilities:

- batchable runners (embedders, classifiers): through the batcher, one thread hop per batch;
- runners with threads of their own (the LLM's engine slots): each input as its own call in
  one of those threads, one hop per input;
- others: the request's inputs as one call in the shared model threads.

Every call is bounded by ``CLARION_RUNNER_TIMEOUT_S``; when its caller goes away or the time
runs out, the runner is told to stop (:meth:`Runner.predict_until`).

    backend = LocalBackend(RUNNER_FACTORIES, settings, observer=metrics.runtime_observer())
    outputs = await backend.predict(version, inputs)
    await backend.close()
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from clarion.config import Settings
from clarion.domain.placement import Replica, ServedVersion
from clarion.domain.values import Input, Output
from clarion.errors import ClarionError, InternalError, ModelNotFound, PredictionFailed
from clarion.runtime.admission import InFlight
from clarion.runtime.backend import Deployment, Params
from clarion.runtime.batcher import BatchingConfig, DynamicBatcher
from clarion.runtime.observer import NoObserver, RuntimeObserver
from clarion.runtime.residency import Residency
from clarion.runtime.runner import Runner, RunnerFactory
from clarion.runtime.stream_bridge import stream_from_thread
from clarion.runtime.threads import ModelThreads, single_threaded_blas

log = logging.getLogger(__name__)

#: The files a version's spec pins that are missing or changed (so it cannot be served).
ChangedFiles = Callable[[dict[str, Any]], Sequence[str]]


@dataclass
class _Loaded:
    version: Deployment
    runner: Runner[Any]
    threads: ModelThreads
    in_flight: InFlight
    #: Whether ``threads`` are the runner's own (else the shared model threads).
    own_threads: bool = False
    batcher: DynamicBatcher | None = None

    @property
    def busy(self) -> bool:
        return self.in_flight.count > 0 or bool(self.batcher and self.batcher.queue_depth)

    def memory_bytes(self) -> int:
        return self.runner.memory_bytes()


class LocalBackend:
    """Loads, batches and calls runners in this process, keyed by model version id."""

    def __init__(
        self,
        factories: Mapping[str, RunnerFactory],
        settings: Settings,
        observer: RuntimeObserver | None = None,
        changed_files: ChangedFiles | None = None,
    ) -> None:
        self._factories = dict(factories)
        self._settings = settings
        self._observer: RuntimeObserver = observer or NoObserver()
        self._changed_files = changed_files
        single_threaded_blas()
        self._shared = ModelThreads(settings.model_threads, "clarion-model")
        self._residency: Residency[_Loaded] = Residency(
            self._load, self._unload, settings, self._observer
        )

    # state ---------------------------------------------------------------------------

    def loaded_versions(self) -> list[str]:
        """The loaded version ids, least recently used first."""
        return self._residency.versions()

    def loaded_runners(self) -> list[Runner[Any]]:
        """The loaded runners themselves, for diagnostics (an engine's counters in tests)."""
        return [entry.runner for entry in self._residency.entries()]

    # loading -------------------------------------------------------------------------

    async def load(self, version: Deployment) -> None:
        await self._residency.get(version, wait_s=None)

    async def _load(self, version: Deployment) -> _Loaded:
        runner = await self._shared.run(self._build, version)
        own = ModelThreads(runner.threads, f"clarion-{version.runner}") if runner.threads else None
        in_flight = InFlight(
            runner.max_in_flight, lambda count: self._observer.on_in_flight(version, count)
        )
        entry = _Loaded(version, runner, own or self._shared, in_flight, own is not None)
        if runner.batchable and self._settings.dynamic_batching:
            entry.batcher = DynamicBatcher(
                lambda batch: self._call(entry, batch, None),
                self._batching(runner),
                on_batch=lambda size: self._observer.on_batch(version, size),
            )
        return entry

    def _batching(self, runner: Runner[Any]) -> BatchingConfig:
        s = self._settings
        size = s.batch_max_size
        if runner.max_batch_size:
            size = min(size, runner.max_batch_size)
        return BatchingConfig(
            max_batch_size=size, max_delay_s=s.batch_max_delay_ms / 1000, max_queue=s.queue_size
        )

    def _build(self, version: Deployment) -> Runner[Any]:
        factory = self._factories.get(version.runner)
        if factory is None:
            raise InternalError(f"no runner family named {version.runner!r} is installed")
        log.info("loading model version %s (%s)", version.version_id, version.runner)
        changed = self._changed_files(version.spec) if self._changed_files else ()
        if changed:
            raise ModelNotFound(
                f"Model version {version.version_id} cannot be served: its files changed or "
                f"are gone ({', '.join(changed)}), e.g. after a weights upgrade. Use the "
                "latest version."
            )
        runner = factory(version.spec, self._settings)
        try:
            runner.load()
        except ClarionError:
            raise
        except Exception as exc:
            raise PredictionFailed(
                f"model version {version.version_id} failed to load: {exc}"
            ) from exc
        return runner

    async def _unload(self, entry: _Loaded) -> None:
        if entry.batcher is not None:
            await entry.batcher.close()
        if entry.own_threads:
            entry.threads.shutdown()
        await self._shared.run(entry.runner.close)

    # predicting ----------------------------------------------------------------------

    async def predict(
        self,
        version: Deployment,
        inputs: Sequence[Input],
        params: Params = None,
        *,
        deadline: float | None = None,
    ) -> list[Output]:
        entry = await self._residency.get(version, self._settings.load_wait_s)
        if entry.runner.batchable and params is not None:
            raise InternalError(
                f"model version {version.version_id} is batchable, so it takes no params"
            )
        entry.in_flight.admit(len(inputs))
        try:
            if entry.batcher is not None:
                task = entry.batcher.submit(inputs, deadline)
                self._observer.on_queue_depth(version, entry.batcher.queue_depth + len(inputs))
                outputs = await task
            else:
                self._observer.on_batch(version, len(inputs))
                if entry.own_threads:
                    outputs = await self._call_each(entry, inputs, params)
                else:
                    outputs = await self._call(entry, inputs, params)
        finally:
            entry.in_flight.release(len(inputs))
            if entry.batcher is not None:
                self._observer.on_queue_depth(version, entry.batcher.queue_depth)
            self._residency.touch(version.version_id)
        self._count_tokens(version, outputs)
        return outputs

    async def stream(
        self, version: Deployment, item: Input, params: Params = None
    ) -> AsyncGenerator[Output, None]:
        entry = await self._residency.get(version, self._settings.load_wait_s)
        entry.in_flight.admit(1)
        admitted = True

        def release() -> None:
            nonlocal admitted
            if admitted:
                admitted = False
                entry.in_flight.release(1)
                self._residency.touch(version.version_id)

        def finished(final: Output) -> None:
            self._count_tokens(version, [final])
            release()  # the generation is over: free its place before the client hears so

        def produce(emit: Callable[[Output], bool], stop: threading.Event) -> Output:
            return entry.runner.stream(item, params, emit, stop)

        try:
            async with aclosing(stream_from_thread(entry.threads, produce, finished)) as pieces:
                async for piece in pieces:
                    yield piece
        finally:
            release()

    def _count_tokens(self, version: Deployment, outputs: Sequence[Output]) -> None:
        tokens = sum(o.completion_tokens for o in outputs)
        if tokens:
            self._observer.on_tokens(version, tokens)

    async def _call_each(
        self, entry: _Loaded, inputs: Sequence[Input], params: Params
    ) -> list[Output]:
        """Each input as its own call; when one fails, the others are stopped."""
        calls = [asyncio.ensure_future(self._call(entry, [item], params)) for item in inputs]
        try:
            results = await asyncio.gather(*calls)
        except BaseException:
            for call in calls:
                call.cancel()
            raise
        return [output for outputs in results for output in outputs]

    async def _call(self, entry: _Loaded, inputs: Sequence[Input], params: Params) -> list[Output]:
        """One model call in a worker thread, bounded by ``CLARION_RUNNER_TIMEOUT_S``."""
        limit = self._settings.runner_timeout_s
        try:
            return await entry.threads.call(
                lambda stop: _predict(entry.runner, inputs, params, stop), limit
            )
        except TimeoutError as exc:
            log.error(
                "model version %s did not answer a batch of %d inputs within %g s; "
                "its thread is abandoned",
                entry.version.version_id,
                len(inputs),
                limit,
            )
            raise PredictionFailed(
                f"The model did not answer within {limit:g} s (CLARION_RUNNER_TIMEOUT_S) "
                f"on this batch of {len(inputs)} inputs; it was abandoned. Retry, or send "
                "less work per request."
            ) from exc

    async def served(self) -> list[ServedVersion]:
        """Each loaded version, with this process as its one replica."""
        here = Replica("RUNNING", node_id="", node_address=socket.gethostname(), pid=os.getpid())
        return [
            ServedVersion(entry.version.model_id, entry.version.version_id, (here,))
            for entry in self._residency.entries()
        ]

    async def close(self) -> None:
        await self._residency.close()
        self._shared.shutdown()


def _predict(
    runner: Runner[Any], inputs: Sequence[Input], params: Params, stop: threading.Event
) -> list[Output]:
    try:
        outputs = runner.predict_until(inputs, params, stop)
    except ClarionError:
        raise
    except Exception as exc:
        log.exception("prediction failed")
        raise PredictionFailed(f"the model failed on this batch: {exc}") from exc
    if len(outputs) != len(inputs):
        raise PredictionFailed(
            f"The model returned {len(outputs)} outputs for a batch of {len(inputs)} "
            "inputs; none of them can be trusted."
        )
    return outputs
