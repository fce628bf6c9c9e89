"""The bridge from a runner generating in a thread to an async iterator on the event loop.

    async for piece in stream_from_thread(threads, lambda emit, stop: runner.stream(...)):
        ...

The thread hands each piece to ``emit``; the pieces are yielded in order, then the thread's
final output. When the consumer goes away (closes the iterator early), ``stop`` is set and
``emit`` returns False, so the producer stops at its next piece; nobody waits for it then.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Callable

from clarion.domain.values import Output
from clarion.runtime.threads import ModelThreads

Emit = Callable[[Output], bool]
Produce = Callable[[Emit, threading.Event], Output]


def _nothing(_final: Output) -> None:
    pass


async def stream_from_thread(
    threads: ModelThreads, produce: Produce, finished: Callable[[Output], None] = _nothing
) -> AsyncGenerator[Output, None]:
    """Run ``produce(emit, stop)`` in ``threads``; yield what it emits, then its result.

    ``finished`` is called with the result before it is yielded (so the caller can free what
    the generation held before the consumer hears that it is over).
    """
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[Output | None] = asyncio.Queue()
    gone = threading.Event()

    def emit(piece: Output) -> bool:
        if gone.is_set():
            return False
        loop.call_soon_threadsafe(pieces.put_nowait, piece)
        return True

    work = asyncio.ensure_future(threads.run(produce, emit, gone))
    work.add_done_callback(lambda _: pieces.put_nowait(None))
    try:
        while (piece := await pieces.get()) is not None:
            yield piece
        final = await work
        finished(final)
        yield final
    finally:
        gone.set()
        if not work.done():  # the producer stops at its next piece; nobody awaits it now
            work.add_done_callback(lambda f: f.cancelled() or f.exception())
