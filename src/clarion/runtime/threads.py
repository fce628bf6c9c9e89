"""The threads model calls run in, never the event loop nor asyncio's small default pool.

Compute-bound runners share one pool (``CLARION_MODEL_THREADS``); a runner that asks for
threads of its own (``Runner.threads``) gets a pool of that size. A call that runs past its
time limit keeps its thread, and the pool is swapped for a fresh one, so later calls still
find free threads.

numpy's BLAS runs in its caller's thread only (:func:`single_threaded_blas`): what Clarion
multiplies with it (heads, concept tables, training) is small, and OpenBLAS's own threads
spin for a while after each call, on the cores onnxruntime and llama.cpp compute on.

    threads = ModelThreads(2, "clarion-model")
    outputs = await threads.call(lambda stop: runner.predict_until(batch, None, stop), 30.0)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from threadpoolctl import threadpool_limits

T = TypeVar("T")


def single_threaded_blas() -> None:
    """Limit numpy's BLAS to one thread, for the whole process and for good.

    Measured with a 32-image request, the general concepts' (32 x 1000) @ (1000 x 150) product
    took 30 ms with OpenBLAS's two threads (its helper waited for a core that onnxruntime's
    threads had just spun on) and 0.3 ms with one; the whole request 375 -> 285 ms.
    """
    threadpool_limits(limits=1, user_api="blas")


class ModelThreads:
    """A thread pool of ``size`` threads named ``name``."""

    def __init__(self, size: int, name: str) -> None:
        self._size = max(1, size)
        self._name = name
        self._executor = self._fresh()

    def _fresh(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=self._size, thread_name_prefix=self._name)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in one of the threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def call(self, work: Callable[[threading.Event], T], timeout_s: float) -> T:
        """``work(stop)`` in one of the threads, within ``timeout_s`` (0: no limit).

        ``stop`` is set once the caller no longer waits: it was cancelled, the call ran out
        of time (:class:`TimeoutError`, and the pool is replaced) or it finished.
        """
        stop = threading.Event()
        executor = self._executor
        future = asyncio.get_running_loop().run_in_executor(executor, work, stop)
        try:
            return await asyncio.wait_for(future, timeout_s if timeout_s > 0 else None)
        except TimeoutError:
            if self._executor is executor:  # not yet replaced by another call that timed out
                self._executor = self._fresh()
                executor.shutdown(wait=False)
            raise
        finally:
            stop.set()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
