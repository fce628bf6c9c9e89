"""Which model versions are loaded: loading on first use, load waits, idle and LRU unloading.

- A version loads on first use, or at start when preloaded; concurrent requests share one
  load. A request that finds its version still loading waits up to ``wait_s``
  (``CLARION_LOAD_WAIT_S``), then answers 21355 MODEL_LOADING.
- A version unused for ``CLARION_IDLE_UNLOAD_S`` is unloaded once nothing is in flight on it.
- When the loaded versions' estimated memory passes ``CLARION_MEMORY_BUDGET_MB``, the least
  recently used ones with nothing in flight are unloaded first.

    residency = Residency(load_entry, unload_entry, settings, observer)
    entry = await residency.get(version, wait_s=10)
    ...
    residency.touch(version.version_id)     # used now: restart its idle timer
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, Protocol, TypeVar

from clarion.config import Settings
from clarion.errors import ModelLoading
from clarion.runtime.backend import Deployment
from clarion.runtime.observer import RuntimeObserver

log = logging.getLogger(__name__)


class Resident(Protocol):
    """What residency needs to know of a loaded version."""

    @property
    def busy(self) -> bool:
        """Inputs are running or waiting on it."""

    def memory_bytes(self) -> int: ...


E = TypeVar("E", bound=Resident)


class Residency(Generic[E]):
    """The loaded entries, keyed by version id, least recently used first."""

    def __init__(
        self,
        load: Callable[[Deployment], Awaitable[E]],
        unload: Callable[[E], Coroutine[Any, Any, None]],
        settings: Settings,
        observer: RuntimeObserver,
    ) -> None:
        self._load = load
        self._unload = unload
        self._idle_s = settings.idle_unload_s
        self._budget = settings.memory_budget_mb * 1024 * 1024
        self._observer = observer
        self._loaded: OrderedDict[str, E] = OrderedDict()
        self._loading: dict[str, asyncio.Task[E]] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._unloading: set[asyncio.Task[None]] = set()

    def versions(self) -> list[str]:
        """The loaded version ids, least recently used first."""
        return list(self._loaded)

    def entries(self) -> list[E]:
        return list(self._loaded.values())

    async def get(self, version: Deployment, wait_s: float | None) -> E:
        """The loaded entry, loading it if needed; ``wait_s`` None waits for the load."""
        entry = self._loaded.get(version.version_id)
        if entry is not None:
            self._loaded.move_to_end(version.version_id)
            return entry
        task = self._loading.get(version.version_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._load_now(version))
            self._loading[version.version_id] = task
        try:
            return await asyncio.wait_for(asyncio.shield(task), wait_s)
        except TimeoutError as exc:
            raise ModelLoading(
                f"Model version {version.version_id} is still loading; retry in a few seconds."
            ) from exc

    async def _load_now(self, version: Deployment) -> E:
        try:
            entry = await self._load(version)
            self._loaded[version.version_id] = entry
            self._observer.on_loaded_count(len(self._loaded))
            self._enforce_memory_budget(keep=version.version_id)
            return entry
        finally:
            self._loading.pop(version.version_id, None)

    def touch(self, version_id: str) -> None:
        """``version_id`` was just used: it is unloaded after ``CLARION_IDLE_UNLOAD_S`` more."""
        if self._idle_s <= 0 or version_id not in self._loaded:
            return
        timer = self._timers.pop(version_id, None)
        if timer is not None:
            timer.cancel()
        self._timers[version_id] = asyncio.get_running_loop().call_later(
            self._idle_s, self._unload_if_idle, version_id
        )

    def _unload_if_idle(self, version_id: str) -> None:
        self._timers.pop(version_id, None)
        entry = self._loaded.get(version_id)
        if entry is None:
            return
        if entry.busy:
            self.touch(version_id)
            return
        log.info("unloading idle model version %s", version_id)
        self._drop(version_id)

    def _enforce_memory_budget(self, keep: str) -> None:
        if self._budget <= 0:
            return
        for version_id in list(self._loaded):
            if sum(e.memory_bytes() for e in self._loaded.values()) <= self._budget:
                return
            if version_id != keep and not self._loaded[version_id].busy:
                log.info("unloading model version %s to stay within the memory budget", version_id)
                self._drop(version_id)

    def _drop(self, version_id: str) -> None:
        entry = self._loaded.pop(version_id)
        timer = self._timers.pop(version_id, None)
        if timer is not None:
            timer.cancel()
        task = asyncio.get_running_loop().create_task(self._unload(entry))
        self._unloading.add(task)
        task.add_done_callback(self._unloading.discard)
        self._observer.on_loaded_count(len(self._loaded))

    async def close(self) -> None:
        """Unload everything; loads under way are cancelled."""
        for task in self._loading.values():
            task.cancel()
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        while self._loaded:
            _, entry = self._loaded.popitem(last=False)
            await self._unload(entry)
        await asyncio.gather(*list(self._unloading), return_exceptions=True)
