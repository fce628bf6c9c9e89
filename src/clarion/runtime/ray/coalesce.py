"""Predict requests to one application that arrive while a call is in transit leave together.

Every Serve call costs CPU on both sides (Serve's router, the transport, the replica's
request handling), so under many concurrent single-input requests the calls, not the model,
fill a small machine. A :class:`Coalescer` sends a request at once when no call of its
application is in transit (sent, not yet taken by a replica); requests that arrive while one
is wait for that call to be taken, then leave together as one call. One client never waits
here, and requests arriving in a burst share a call. Inside the replica each request of a
call is a request of its own (its own params, deadline, queue place and errors), so the
replica's dynamic batcher forms its batches as before.

Only applications with a fixed number of replicas coalesce: Serve autoscales on the number
of calls in flight, which coalescing would hide, so an autoscaled application gets a call
per request (``Coalescer(send, coalesce=False)``), as does a chat model (a call answers when
all of its requests have: :func:`~clarion.runtime.ray.options.coalesces`).

- a request's deadline is turned into the time left when its call leaves, and so is the
  time it may still wait for a replica to take it (the earliest of its call's);
- a waiting request whose caller gives up leaves the queue; a call whose callers have all
  given up is cancelled (which cancels the Ray request);
- a call carries requests of at most :data:`MAX_CALL_INPUTS` inputs in all (at least one
  request, whatever its size);
- whatever ends a call, even a cancel before it ran, ends its transit and answers each of
  its requests (a reply of the wrong length fails them with 21313).

    coalescer = Coalescer(send)
    outputs = await coalescer.predict(inputs, params, deadline, wait_until)  # loop clock
"""

from __future__ import annotations

import asyncio
import functools
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from clarion.domain.values import Input, Output
from clarion.errors import PredictionFailed
from clarion.runtime.backend import Params

#: The most inputs one coalesced call carries (a single request may carry more).
MAX_CALL_INPUTS = 128


@dataclass(frozen=True)
class Request:
    """One predict request as it crosses to the replica."""

    inputs: Sequence[Input]
    params: Params
    #: Seconds left before the request's deadline when its call left; None: no deadline.
    timeout_s: float | None


#: What a call returns for each of its requests: its outputs, or the error it failed with.
Result = list[Output] | BaseException
#: Sends one call carrying ``requests``, which a replica must take within ``load_wait_s``,
#: and returns their results in order; calls ``taken()`` once a replica has taken the call
#: (raising if the whole call failed).
Send = Callable[[list[Request], float, Callable[[], None]], Awaitable[list[Result]]]


@dataclass(eq=False)
class _Waiting:
    inputs: Sequence[Input]
    params: Params
    deadline: float | None
    wait_until: float
    future: asyncio.Future[list[Output]]
    #: The call carrying it, once it left.
    call: asyncio.Task[None] | None = None
    group: list[_Waiting] = field(default_factory=list)


class _Transit:
    """One call's transit: it ends once, when a replica takes the call or the call ends."""

    def __init__(self, on_end: Callable[[], None]) -> None:
        self._on_end = on_end
        self._ended = False

    def end(self) -> None:
        if not self._ended:
            self._ended = True
            self._on_end()


class Coalescer:
    """Sends one application's predict requests, together when they arrive during a call's
    transit (see the module's docstring)."""

    def __init__(self, send: Send, *, coalesce: bool = True) -> None:
        self._send = send
        self._coalesce = coalesce
        self._in_transit = False
        self._waiting: deque[_Waiting] = deque()
        self._calls: set[asyncio.Task[None]] = set()
        self._closed = False

    async def predict(
        self, inputs: Sequence[Input], params: Params, deadline: float | None, wait_until: float
    ) -> list[Output]:
        """The outputs of one request, or the error it failed with. ``deadline`` (None: no
        deadline) and ``wait_until`` (the latest a replica may take it) are on the running
        loop's clock."""
        loop = asyncio.get_running_loop()
        waiting = _Waiting(inputs, params, deadline, wait_until, loop.create_future())
        if not self._coalesce or not self._in_transit:
            return await self._direct(waiting)
        self._waiting.append(waiting)
        try:
            return await asyncio.shield(waiting.future)
        except asyncio.CancelledError:
            self._give_up(waiting)
            raise

    async def _direct(self, waiting: _Waiting) -> list[Output]:
        """Send one request as a call of its own, in the caller's task (cancelling the caller
        cancels the call)."""
        self._in_transit = self._coalesce
        (result,) = await self._call([waiting], _Transit(self._transit_ended))
        if isinstance(result, BaseException):
            raise result
        return result

    async def _call(self, group: list[_Waiting], transit: _Transit) -> list[Result]:
        """Send ``group`` as one call; its transit ends when a replica takes it, or when it
        fails or is cancelled before."""
        now = asyncio.get_running_loop().time()
        requests = [_request(w, now) for w in group]
        load_wait_s = max(0.0, min(w.wait_until for w in group) - now)
        try:
            results = await self._send(requests, load_wait_s, transit.end)
        finally:
            transit.end()
        if len(results) != len(requests):
            raise PredictionFailed(
                f"A replica answered {len(results)} results to a call of {len(requests)} requests."
            )
        return results

    def _transit_ended(self) -> None:
        """The call in transit was taken (or failed): the requests waiting leave as one."""
        self._in_transit = False
        if self._closed:
            while self._waiting:
                self._waiting.popleft().future.cancel()
        if not self._waiting:
            return
        group: list[_Waiting] = []
        size = 0
        while self._waiting and (
            not group or size + len(self._waiting[0].inputs) <= MAX_CALL_INPUTS
        ):
            waiting = self._waiting.popleft()
            group.append(waiting)
            size += len(waiting.inputs)
        self._in_transit = True
        transit = _Transit(self._transit_ended)
        call = asyncio.ensure_future(self._carry(group, transit))
        self._calls.add(call)
        # Whatever ends the call (even a cancel before it ever ran) ends its transit and
        # leaves no request of it unanswered.
        call.add_done_callback(functools.partial(self._carried, group, transit))
        for waiting in group:
            waiting.call, waiting.group = call, group

    async def _carry(self, group: list[_Waiting], transit: _Transit) -> None:
        """Send ``group`` as one call and hand each waiting request its result (a failed or
        cancelled call is handed out by :meth:`_carried`)."""
        results = await self._call(group, transit)
        for waiting, result in zip(group, results, strict=True):
            if waiting.future.done():
                continue
            if isinstance(result, BaseException):
                waiting.future.set_exception(result)
            else:
                waiting.future.set_result(result)

    def _carried(self, group: list[_Waiting], transit: _Transit, call: asyncio.Task[None]) -> None:
        """A group's call ended, however (even cancelled before it ran): its transit ends,
        and each of its requests still unanswered gets the call's error, or is cancelled."""
        self._calls.discard(call)
        transit.end()
        failure = None if call.cancelled() else call.exception()
        for waiting in group:
            if waiting.future.done():
                continue
            if failure is None:
                waiting.future.cancel()
            else:
                waiting.future.set_exception(failure)

    def _give_up(self, waiting: _Waiting) -> None:
        """The caller of ``waiting`` went away: drop it, or cancel its call when nobody else
        waits on that call."""
        if waiting.call is None:
            if waiting in self._waiting:  # not already dropped by close()
                self._waiting.remove(waiting)
            return
        waiting.future.cancel()
        if all(other.future.done() for other in waiting.group):
            waiting.call.cancel()

    async def close(self) -> None:
        """Cancel the calls still carrying requests, and the requests waiting for one."""
        self._closed = True
        while self._waiting:
            self._waiting.popleft().future.cancel()
        for call in list(self._calls):
            call.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)


def _request(waiting: _Waiting, now: float) -> Request:
    timeout_s = None if waiting.deadline is None else max(0.0, waiting.deadline - now)
    return Request(waiting.inputs, waiting.params, timeout_s)
