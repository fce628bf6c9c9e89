"""The pool of loaded runners: one per model version, with its dynamic batcher.

- A version loads on first use, or at start when preloaded. A request that finds its model
  still loading waits up to ``CLARION_LOAD_WAIT_S``, then answers 21355 MODEL_LOADING.
- Batch-shaped runners get a :class:`DynamicBatcher`; others (the LLM, which batches inside
  its engine) are called directly.
- Model calls run in a dedicated thread pool (``CLARION_MODEL_THREADS``), never on the event
  loop and never in asyncio's small default executor.
- A version unused for ``CLARION_IDLE_UNLOAD_S`` is unloaded; when the loaded runners'
  estimated memory passes ``CLARION_MEMORY_BUDGET_MB``, the least recently used idle ones
  are unloaded first.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from clarion.catalog.builtin import changed_files
from clarion.config import Settings
from clarion.domain.models import ModelVersion
from clarion.domain.values import Input, Output
from clarion.errors import (
    ClarionError,
    InternalError,
    ModelBusy,
    ModelLoading,
    ModelNotFound,
    PredictionFailed,
)
from clarion.metrics import Metrics
from clarion.runtime.batcher import BatchingConfig, DynamicBatcher
from clarion.runtime.runner import Runner, RunnerFactory

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass
class _Loaded:
    runner: Runner
    batcher: DynamicBatcher | None
    #: The runner's own threads when it asks for them (``Runner.threads``).
    executor: ThreadPoolExecutor | None = None
    #: Inputs running or waiting (for admission, idle unloading and the memory budget).
    admitted_inputs: int = 0
    idle_timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def close(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        self.runner.close()


class RunnerPool:
    """Loads, caches, batches and calls runners, keyed by model version id."""

    def __init__(
        self,
        factories: Mapping[str, RunnerFactory],
        settings: Settings,
        metrics: Metrics | None = None,
    ) -> None:
        self._factories = dict(factories)
        self._settings = settings
        self._metrics = metrics or Metrics()
        self._executor = self._shared_executor()
        self._loaded: OrderedDict[str, _Loaded] = OrderedDict()  # least recently used first
        self._loading: dict[str, asyncio.Task[_Loaded]] = {}
        self._labels: dict[str, tuple[str, str]] = {}

    # state ---------------------------------------------------------------------------

    def loaded_versions(self) -> list[str]:
        return list(self._loaded)

    def is_loaded(self, version_id: str) -> bool:
        return version_id in self._loaded

    def loaded_runners(self) -> list[Runner]:
        return [entry.runner for entry in self._loaded.values()]

    def queue_depth(self, version_id: str) -> int:
        entry = self._loaded.get(version_id)
        return entry.batcher.queue_depth if entry and entry.batcher else 0

    # loading -------------------------------------------------------------------------

    async def load(self, version: ModelVersion, model_id: str = "") -> None:
        """Load ``version`` now (used by preloading); returns when it is ready."""
        await self._entry(version, model_id, wait_s=None)

    async def _entry(self, version: ModelVersion, model_id: str, wait_s: float | None) -> _Loaded:
        entry = self._loaded.get(version.id)
        if entry is not None:
            self._loaded.move_to_end(version.id)
            return entry
        self._labels.setdefault(version.id, (model_id or version.id, version.id))
        task = self._loading.get(version.id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load(version))
            self._loading[version.id] = task
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait_s)
        except TimeoutError as exc:
            raise ModelLoading(
                f"Model version {version.id} is still loading; retry in a few seconds."
            ) from exc

    async def _load(self, version: ModelVersion) -> _Loaded:
        try:
            runner = await self._run(self._build, version)
            executor = None
            if runner.threads > 0:
                executor = ThreadPoolExecutor(runner.threads, f"clarion-{version.runner}")
            entry = _Loaded(runner, None, executor)
            if runner.batchable and self._settings.dynamic_batching:
                entry.batcher = DynamicBatcher(
                    lambda batch: self._call(version.id, entry, batch, None),
                    self._batching(runner),
                    on_batch=self._batch_observer(version.id),
                )
            self._loaded[version.id] = entry
            self._metrics.loaded_models.set(len(self._loaded))
            self._enforce_memory_budget(keep=version.id)
            return entry
        finally:
            self._loading.pop(version.id, None)

    def _batching(self, runner: Runner) -> BatchingConfig:
        s = self._settings
        size = s.batch_max_size
        if runner.max_batch_size:
            size = min(size, runner.max_batch_size)
        return BatchingConfig(
            max_batch_size=size, max_delay_s=s.batch_max_delay_ms / 1000, max_queue=s.queue_size
        )

    def _batch_observer(self, version_id: str) -> Callable[[int], None]:
        def observe(size: int) -> None:
            model, version = self._labels[version_id]
            self._metrics.batch_size.labels(model, version).observe(size)

        return observe

    def _build(self, version: ModelVersion) -> Runner:
        factory = self._factories.get(version.runner)
        if factory is None:
            raise InternalError(f"no runner family named {version.runner!r} is installed")
        log.info("loading model version %s (%s)", version.id, version.runner)
        changed = changed_files(dict(version.spec), self._settings)
        if changed:
            raise ModelNotFound(
                f"Model version {version.id} cannot be served: its files changed or are gone "
                f"({', '.join(changed)}), e.g. after a weights upgrade. Use the latest version."
            )
        runner = factory(dict(version.spec), self._settings)
        try:
            runner.load()
        except ClarionError:
            raise
        except Exception as exc:
            raise PredictionFailed(f"model version {version.id} failed to load: {exc}") from exc
        return runner

    # predicting ----------------------------------------------------------------------

    async def predict(
        self,
        version: ModelVersion,
        inputs: Sequence[Input],
        params: Any = None,
        *,
        model_id: str = "",
        deadline: float | None = None,
    ) -> list[Output]:
        """Outputs for ``inputs`` from ``version``, through its batcher when it has one."""
        entry = await self._entry(version, model_id, self._settings.load_wait_s)
        self._admit(entry, len(inputs))
        model, vid = self._labels[version.id]
        gauge = self._metrics.queue_depth.labels(model, vid)
        try:
            if entry.batcher is not None and params is None:
                task = entry.batcher.submit(inputs, deadline)
                gauge.set(entry.batcher.queue_depth + len(inputs))
                outputs = await task
            else:
                self._batch_observer(version.id)(len(inputs))
                outputs = await self._call(version.id, entry, inputs, params)
        finally:
            entry.admitted_inputs -= len(inputs)
            if entry.batcher is not None:
                gauge.set(entry.batcher.queue_depth)
            self._touch(version.id, entry)
        self._count_tokens(version.id, outputs)
        return outputs

    async def stream(
        self, version: ModelVersion, item: Input, params: Any = None, *, model_id: str = ""
    ) -> AsyncIterator[Output]:
        """Pieces of one input's output as the runner produces them, then a final summary.

        Closing the iterator early (the client went away) tells the runner to stop at once.
        """
        entry = await self._entry(version, model_id, self._settings.load_wait_s)
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[Output | None] = asyncio.Queue()
        gone = threading.Event()

        def emit(piece: Output) -> bool:
            if gone.is_set():
                return False
            loop.call_soon_threadsafe(pieces.put_nowait, piece)
            return True

        self._admit(entry, 1)
        admitted = True

        def release() -> None:
            nonlocal admitted
            if admitted:
                admitted = False
                entry.admitted_inputs -= 1
                self._touch(version.id, entry)

        work = asyncio.ensure_future(
            self._run(entry.runner.stream, item, params, emit, gone, executor=entry.executor)
        )
        work.add_done_callback(lambda _: pieces.put_nowait(None))
        try:
            while (piece := await pieces.get()) is not None:
                yield piece
            final = await work
            self._count_tokens(version.id, [final])
            release()  # the generation is over: free its place before the client hears so
            yield final
        finally:
            gone.set()
            if not work.done():  # the runner stops at its next piece; nobody awaits it now
                work.add_done_callback(lambda f: f.cancelled() or f.exception())
            release()

    @staticmethod
    def _admit(entry: _Loaded, count: int) -> None:
        limit = entry.runner.max_in_flight
        if limit and entry.admitted_inputs + count > limit:
            raise ModelBusy(
                f"The model is working on {entry.admitted_inputs} inputs and takes at most "
                f"{limit} at once; retry shortly."
            )
        entry.admitted_inputs += count

    def _count_tokens(self, version_id: str, outputs: Sequence[Output]) -> None:
        tokens = sum(o.completion_tokens for o in outputs)
        if tokens:
            model, version = self._labels[version_id]
            self._metrics.generated_tokens.labels(model, version).inc(tokens)

    async def runner(self, version: ModelVersion, model_id: str = "") -> Runner:
        """The loaded runner itself, loading it if needed."""
        entry = await self._entry(version, model_id, self._settings.load_wait_s)
        self._touch(version.id, entry)
        return entry.runner

    async def _call(
        self, version_id: str, entry: _Loaded, inputs: Sequence[Input], params: Any
    ) -> list[Output]:
        """One model call in a worker thread, bounded by ``CLARION_RUNNER_TIMEOUT_S``.

        When the caller goes away (its task is cancelled) or the call runs out of time, the
        runner is told to stop (:meth:`Runner.predict_until`). A call that still does not
        return keeps its thread; later calls get fresh threads, so the model keeps serving.
        """
        stop = threading.Event()
        executor = entry.executor or self._executor
        limit = self._settings.runner_timeout_s
        work = asyncio.get_running_loop().run_in_executor(
            executor, self._predict, entry.runner, inputs, params, stop
        )
        try:
            return await asyncio.wait_for(work, limit if limit > 0 else None)
        except TimeoutError as exc:
            log.error(
                "model version %s did not answer a batch of %d inputs within %g s; "
                "its thread is abandoned",
                version_id,
                len(inputs),
                limit,
            )
            self._replace_executor(entry, executor)
            raise PredictionFailed(
                f"The model did not answer within {limit:g} s (CLARION_RUNNER_TIMEOUT_S) "
                f"on this batch of {len(inputs)} inputs; it was abandoned. Retry, or send "
                "less work per request."
            ) from exc
        finally:
            stop.set()

    def _replace_executor(self, entry: _Loaded, stuck: ThreadPoolExecutor) -> None:
        if entry.executor is stuck:
            entry.executor = ThreadPoolExecutor(entry.runner.threads, "clarion-runner")
        elif self._executor is stuck:
            self._executor = self._shared_executor()
        else:
            return  # already replaced by another call that timed out
        stuck.shutdown(wait=False)

    def _shared_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            max_workers=max(1, self._settings.model_threads), thread_name_prefix="clarion-model"
        )

    @staticmethod
    def _predict(
        runner: Runner, inputs: Sequence[Input], params: Any, stop: threading.Event
    ) -> list[Output]:
        try:
            outputs: list[Output] = runner.predict_until(inputs, params, stop)
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

    async def _run(
        self, fn: Callable[..., T], *args: object, executor: ThreadPoolExecutor | None = None
    ) -> T:
        pool = executor or self._executor
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    # unloading -----------------------------------------------------------------------

    def _touch(self, version_id: str, entry: _Loaded) -> None:
        idle = self._settings.idle_unload_s
        if idle <= 0:
            return
        if entry.idle_timer is not None:
            entry.idle_timer.cancel()
        entry.idle_timer = asyncio.get_running_loop().call_later(
            idle, self._unload_if_idle, version_id
        )

    def _unload_if_idle(self, version_id: str) -> None:
        entry = self._loaded.get(version_id)
        if entry is None:
            return
        if entry.admitted_inputs or (entry.batcher and entry.batcher.queue_depth):
            self._touch(version_id, entry)
            return
        log.info("unloading idle model version %s", version_id)
        self._unload(version_id)

    def _enforce_memory_budget(self, keep: str) -> None:
        budget = self._settings.memory_budget_mb * 1024 * 1024
        if budget <= 0:
            return
        for version_id in list(self._loaded):
            if sum(e.runner.memory_bytes() for e in self._loaded.values()) <= budget:
                return
            entry = self._loaded[version_id]
            if version_id != keep and not entry.admitted_inputs:
                log.info("unloading model version %s to stay within the memory budget", version_id)
                self._unload(version_id)

    def _unload(self, version_id: str) -> None:
        entry = self._loaded.pop(version_id)
        if entry.batcher is not None:
            asyncio.get_running_loop().create_task(entry.batcher.close())
        self._executor.submit(entry.close)
        self._metrics.loaded_models.set(len(self._loaded))

    async def close(self) -> None:
        for version_id in list(self._loaded):
            entry = self._loaded.pop(version_id)
            if entry.batcher is not None:
                await entry.batcher.close()
            entry.close()
        for task in self._loading.values():
            task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)
