"""The pool of loaded runners: one per model version, loaded on first use.

Model calls run in a dedicated thread pool (``CLARION_MODEL_THREADS``), never on the event
loop and never in asyncio's small default executor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.errors import ClarionError, InternalError, PredictionFailed
from clarion.registry import VersionRecord
from clarion.runtime.runner import Runner, RunnerFactory

log = logging.getLogger(__name__)

T = TypeVar("T")


class RunnerPool:
    """Loads, caches and calls runners, keyed by model version id."""

    def __init__(self, factories: Mapping[str, RunnerFactory], settings: Settings) -> None:
        self._factories = dict(factories)
        self._settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, settings.model_threads), thread_name_prefix="clarion-model"
        )
        self._runners: dict[str, Runner] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def loaded_versions(self) -> list[str]:
        return list(self._runners)

    async def runner(self, version: VersionRecord) -> Runner:
        """The loaded runner for ``version``, loading it (once) if needed."""
        runner = self._runners.get(version.id)
        if runner is not None:
            return runner
        lock = self._locks.setdefault(version.id, asyncio.Lock())
        async with lock:
            runner = self._runners.get(version.id)
            if runner is None:
                runner = await self._run(self._load, version)
                self._runners[version.id] = runner
        return runner

    def _load(self, version: VersionRecord) -> Runner:
        factory = self._factories.get(version.runner)
        if factory is None:
            raise InternalError(f"no runner family named {version.runner!r} is installed")
        log.info("loading model version %s (%s)", version.id, version.runner)
        runner = factory(version.spec, self._settings)
        try:
            runner.load()
        except ClarionError:
            raise
        except Exception as exc:
            raise PredictionFailed(f"model version {version.id} failed to load: {exc}") from exc
        return runner

    async def predict(self, version: VersionRecord, inputs: Sequence[Input]) -> list[Output]:
        """Run one batch through ``version``'s runner in the model thread pool."""
        runner = await self.runner(version)
        outputs = await self._run(self._predict, runner, inputs)
        if len(outputs) != len(inputs):
            raise InternalError(
                f"runner for version {version.id} returned {len(outputs)} outputs "
                f"for {len(inputs)} inputs"
            )
        return outputs

    @staticmethod
    def _predict(runner: Runner, inputs: Sequence[Input]) -> list[Output]:
        try:
            outputs: list[Output] = runner.predict(inputs)
        except ClarionError:
            raise
        except Exception as exc:
            log.exception("prediction failed")
            raise PredictionFailed(f"the model failed on this batch: {exc}") from exc
        return outputs

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()
        self._runners.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)
