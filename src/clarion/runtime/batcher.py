"""The dynamic batcher: inputs from concurrent requests become one model batch.

One batcher serves one loaded model version. A request's inputs join a bounded queue; a
single worker task waits for the first item, then gathers more until ``max_batch_size``
items are waiting or ``max_delay_s`` has passed since the first one arrived (Triton's
``max_queue_delay_microseconds``), and runs them as one batch off the event loop. Each caller
gets back exactly its own outputs.

- A full queue refuses a request at once with :class:`ModelBusy` (21354), never partly.
- Items whose caller was cancelled are dropped before the batch runs.
- Items whose deadline passed while queued are failed with :class:`ModelBusy`, unrun.
- An exception from the model, or a wrong number of outputs, reaches every caller whose
  items were in that batch as a :class:`ClarionError` (21313 for anything foreign); the
  worker carries on with the next batch.

    batcher = DynamicBatcher(run_batch, BatchingConfig(max_batch_size=64, max_delay_s=0.004))
    outputs = await batcher.submit(inputs, deadline=loop.time() + 30)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from clarion.domain.values import Input, Output
from clarion.errors import ClarionError, ModelBusy, PredictionFailed

log = logging.getLogger(__name__)

RunBatch = Callable[[list[Input]], Awaitable[list[Output]]]


@dataclass(frozen=True)
class BatchingConfig:
    """How one model version's batcher gathers work.

    ``max_batch_size``: most inputs in one model call. ``max_delay_s``: longest an input
    waits for company. ``max_queue``: most inputs waiting; more are refused with 21354.
    """

    max_batch_size: int = 128
    max_delay_s: float = 0.005
    max_queue: int = 1024

    def __post_init__(self) -> None:
        if self.max_batch_size < 1 or self.max_queue < 1 or self.max_delay_s < 0:
            raise ValueError(f"invalid batching settings: {self}")


@dataclass
class _Item:
    input: Input
    future: asyncio.Future[Output]
    arrived: float
    deadline: float | None


class DynamicBatcher:
    """Gathers inputs into batches for one ``run_batch`` callable."""

    def __init__(
        self,
        run_batch: RunBatch,
        config: BatchingConfig,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._run_batch = run_batch
        self.config = config
        self._on_batch = on_batch
        self._queue: deque[_Item] = deque()
        self._arrived = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    async def submit(self, inputs: Sequence[Input], deadline: float | None = None) -> list[Output]:
        """The outputs for ``inputs``, in order, once their batches have run."""
        if len(self._queue) + len(inputs) > self.config.max_queue:
            raise ModelBusy(
                f"The model's queue is full ({len(self._queue)} of {self.config.max_queue} "
                f"inputs waiting); retry shortly."
            )
        loop = asyncio.get_running_loop()
        now = loop.time()
        items = [_Item(i, loop.create_future(), now, deadline) for i in inputs]
        self._queue.extend(items)
        self._arrived.set()
        self._ensure_worker()
        try:
            return list(await asyncio.gather(*(item.future for item in items)))
        except BaseException:
            for item in items:  # a cancelled or failed caller leaves nothing behind
                item.future.cancel()
            raise

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._arrived.clear()
                await self._arrived.wait()
            while len(self._queue) < self.config.max_batch_size:
                remaining = self._queue[0].arrived + self.config.max_delay_s - loop.time()
                if remaining <= 0:
                    break
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), remaining)
                except TimeoutError:
                    break
            batch = self._take(loop.time())
            if batch:
                await self._run(batch)

    def _take(self, now: float) -> list[_Item]:
        batch: list[_Item] = []
        while self._queue and len(batch) < self.config.max_batch_size:
            item = self._queue.popleft()
            if item.future.done():  # cancelled by its caller
                continue
            if item.deadline is not None and now > item.deadline:
                item.future.set_exception(
                    ModelBusy("The request's deadline passed while it waited in the queue.")
                )
                continue
            batch.append(item)
        return batch

    async def _run(self, batch: list[_Item]) -> None:
        if self._on_batch is not None:
            self._on_batch(len(batch))
        try:
            outputs = await self._run_batch([item.input for item in batch])
            if len(outputs) != len(batch):
                raise PredictionFailed(
                    f"The model returned {len(outputs)} outputs for a batch of {len(batch)} "
                    "inputs; none of them can be trusted."
                )
        except Exception as exc:
            if not isinstance(exc, ClarionError):
                log.exception("a model batch failed")
                exc = PredictionFailed(f"The model failed on this batch: {exc}")
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(exc)
            return
        for item, output in zip(batch, outputs, strict=True):
            if not item.future.done():
                item.future.set_result(output)

    async def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for item in self._queue:
            item.future.cancel()
        self._queue.clear()
