"""The stream bridge: pieces from a thread arrive in order, a consumer leaving stops it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from clarion.domain.values import Output
from clarion.runtime.stream_bridge import stream_from_thread
from clarion.runtime.threads import ModelThreads


def test_pieces_then_the_final_output_which_finished_sees_first() -> None:
    async def scenario() -> None:
        threads = ModelThreads(1, "clarion-test")
        finished: list[Output] = []

        def produce(emit: Callable[[Output], bool], _stop: threading.Event) -> Output:
            for word in ("one", "two", "three"):
                emit(Output(text=word))
            return Output(finish_reason="stop", completion_tokens=3)

        seen = [p async for p in stream_from_thread(threads, produce, finished.append)]
        assert [p.text for p in seen[:3]] == ["one", "two", "three"]
        assert seen[3].finish_reason == "stop" and finished == [seen[3]]
        threads.shutdown()

    asyncio.run(scenario())


def test_closing_early_stops_the_producer() -> None:
    async def scenario() -> None:
        threads = ModelThreads(1, "clarion-test")
        stopped = threading.Event()

        def produce(emit: Callable[[Output], bool], stop: threading.Event) -> Output:
            while emit(Output(text="more")):
                pass
            if stop.is_set():
                stopped.set()
            return Output()

        pieces = stream_from_thread(threads, produce)
        assert (await anext(pieces)).text == "more"
        await pieces.aclose()
        assert await asyncio.to_thread(stopped.wait, 5)
        threads.shutdown()

    asyncio.run(scenario())
