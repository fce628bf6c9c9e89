"""ModelThreads: calls run off the loop, stop when abandoned, a stuck pool is replaced."""

from __future__ import annotations

import asyncio
import threading

import pytest

from clarion.runtime.threads import ModelThreads


def test_a_call_runs_in_a_named_thread_and_its_stop_is_set_after() -> None:
    async def scenario() -> None:
        threads = ModelThreads(1, "clarion-test")
        seen: list[threading.Event] = []

        def work(stop: threading.Event) -> str:
            seen.append(stop)
            return threading.current_thread().name

        assert (await threads.call(work, 5.0)).startswith("clarion-test")
        assert seen[0].is_set()
        threads.shutdown()

    asyncio.run(scenario())


def test_a_call_past_its_time_keeps_its_thread_and_later_calls_get_fresh_ones() -> None:
    async def scenario() -> None:
        threads = ModelThreads(1, "clarion-test")
        release = threading.Event()
        stops: list[threading.Event] = []

        def hang(stop: threading.Event) -> None:
            stops.append(stop)
            release.wait(10)

        with pytest.raises(TimeoutError):
            await threads.call(hang, 0.1)
        assert stops[0].is_set()  # told to stop
        assert await threads.call(lambda _stop: "fresh", 5.0) == "fresh"  # the one thread hangs
        release.set()
        threads.shutdown()

    asyncio.run(scenario())


def test_a_cancelled_caller_sets_stop() -> None:
    async def scenario() -> None:
        threads = ModelThreads(1, "clarion-test")
        started, stopped = threading.Event(), threading.Event()

        def work(stop: threading.Event) -> None:
            started.set()
            stopped.set() if stop.wait(5) else None

        task = asyncio.ensure_future(threads.call(work, 0))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(stopped.wait, 5)
        threads.shutdown()

    asyncio.run(scenario())
