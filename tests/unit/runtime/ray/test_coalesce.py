"""Coalescing predict requests into shared calls (no Ray: a scripted ``send``)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from clarion.domain.values import Input, InputKind, Output
from clarion.errors import InvalidParameter, PredictionFailed
from clarion.runtime.ray.coalesce import MAX_CALL_INPUTS, Coalescer, Request, Result, Send


def _inputs(*texts: str) -> list[Input]:
    return [Input(text, InputKind.TEXT, text) for text in texts]


def _outputs(request: Request) -> list[Output]:
    return [Output(text=item.text.upper()) for item in request.inputs]


def _scenario(fn: Callable[[], Coroutine[Any, Any, None]]) -> Callable[[], None]:
    @functools.wraps(fn)
    def test() -> None:
        asyncio.run(fn())

    return test


class _Replica:
    """A scripted application: records each call, is taken and answers when told."""

    def __init__(self) -> None:
        self.calls: list[list[Request]] = []
        self.load_waits: list[float] = []
        self.cancelled = 0
        self._take: list[asyncio.Event] = []
        self._answer: list[asyncio.Event] = []

    async def send(
        self, requests: list[Request], load_wait_s: float, taken: Callable[[], None]
    ) -> list[Result]:
        self.calls.append(requests)
        self.load_waits.append(load_wait_s)
        take, answer = asyncio.Event(), asyncio.Event()
        self._take.append(take)
        self._answer.append(answer)
        try:
            await take.wait()
            taken()
            await answer.wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        results: list[Result] = []
        for request in requests:
            if request.inputs[0].text == "fail":
                results.append(InvalidParameter("fail was asked for"))
            else:
                results.append(_outputs(request))
        return results

    def take(self, call: int) -> None:
        self._take[call].set()

    def answer(self, call: int) -> None:
        self._take[call].set()
        self._answer[call].set()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def _alone_then_pair(
    coalescer: Coalescer,
) -> tuple[asyncio.Task[list[Output]], list[asyncio.Task[list[Output]]]]:
    """Request "a", sent alone, then "b" and "c", which wait for its call to be taken."""
    wait = asyncio.get_running_loop().time() + 10
    first = asyncio.ensure_future(coalescer.predict(_inputs("a"), None, None, wait))
    await _settle()
    pair = [asyncio.ensure_future(coalescer.predict(_inputs(t), None, None, wait)) for t in "bc"]
    await _settle()
    return first, pair


@_scenario
async def test_a_lone_request_is_a_call_of_its_own() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send)
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(
        coalescer.predict(_inputs("abc"), None, loop.time() + 30, loop.time() + 10)
    )
    await _settle()
    replica.answer(0)
    outputs = await task
    assert [o.text for o in outputs] == ["ABC"]
    (request,) = replica.calls[0]
    assert request.timeout_s is not None and 29 < request.timeout_s <= 30
    assert 9 < replica.load_waits[0] <= 10


@_scenario
async def test_requests_arriving_in_transit_leave_together_once_it_is_taken() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send)
    wait = asyncio.get_running_loop().time() + 10
    first = asyncio.ensure_future(coalescer.predict(_inputs("a"), None, None, wait))
    await _settle()
    later = [
        asyncio.ensure_future(coalescer.predict(_inputs(text), None, None, wait))
        for text in ["bb", "fail", "dddd"]
    ]
    await _settle()
    assert len(replica.calls) == 1  # the others wait for the first call to be taken
    replica.take(0)
    await _settle()
    assert [[r.inputs[0].text for r in call] for call in replica.calls] == [
        ["a"],
        ["bb", "fail", "dddd"],
    ]
    replica.answer(1)
    replica.answer(0)
    assert [o.text for o in await first] == ["A"]
    assert [o.text for o in await later[0]] == ["BB"]
    with pytest.raises(InvalidParameter, match="fail was asked for"):
        await later[1]  # its own error, not its neighbours'
    assert [o.text for o in await later[2]] == ["DDDD"]


@_scenario
async def test_without_coalescing_every_request_is_sent_at_once() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send, coalesce=False)
    wait = asyncio.get_running_loop().time() + 10
    tasks = [asyncio.ensure_future(coalescer.predict(_inputs(t), None, None, wait)) for t in "xyz"]
    await _settle()
    assert len(replica.calls) == 3
    for call in range(3):
        replica.answer(call)
    assert [len(await t) for t in tasks] == [1, 1, 1]


@_scenario
async def test_a_call_carries_at_most_its_bound_of_inputs() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send)
    wait = asyncio.get_running_loop().time() + 10
    first = asyncio.ensure_future(coalescer.predict(_inputs("a"), None, None, wait))
    await _settle()
    sizes = [MAX_CALL_INPUTS - 1, 1, 1]  # the first two fill a call exactly
    queued = [
        asyncio.ensure_future(coalescer.predict(_inputs(*["t"] * n), None, None, wait))
        for n in sizes
    ]
    await _settle()
    replica.take(0)
    await _settle()
    assert [len(call) for call in replica.calls] == [1, 2]  # the third waits
    assert sum(len(r.inputs) for r in replica.calls[1]) == MAX_CALL_INPUTS
    replica.take(1)
    await _settle()
    assert [len(call) for call in replica.calls] == [1, 2, 1]
    for call in range(3):
        replica.answer(call)
    await first
    assert [len(await t) for t in queued] == sizes


@_scenario
async def test_a_waiting_request_whose_caller_leaves_is_never_sent() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send)
    wait = asyncio.get_running_loop().time() + 10
    first = asyncio.ensure_future(coalescer.predict(_inputs("a"), None, None, wait))
    await _settle()
    gone = asyncio.ensure_future(coalescer.predict(_inputs("gone"), None, None, wait))
    await _settle()
    gone.cancel()
    await _settle()
    replica.answer(0)
    await first
    assert len(replica.calls) == 1


@_scenario
async def test_a_call_whose_callers_all_left_is_cancelled() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send)
    first, pair = await _alone_then_pair(coalescer)
    replica.take(0)
    await _settle()
    replica.take(1)  # the pair's call was taken and runs
    pair[0].cancel()
    await _settle()
    assert replica.cancelled == 0  # the other caller still waits on it
    pair[1].cancel()
    await _settle()
    assert replica.cancelled == 1
    first.cancel()  # a direct call is cancelled with its caller
    await _settle()
    assert replica.cancelled == 2
    await coalescer.close()


def _counting(answer: Callable[[], list[Result]], calls: list[int]) -> Send:
    """A ``send`` that records each call's size and, 10 ms later, ``answer``s, and is taken
    only if that did not raise."""

    async def send(
        requests: list[Request], load_wait_s: float, taken: Callable[[], None]
    ) -> list[Result]:
        calls.append(len(requests))
        await asyncio.sleep(0.01)
        results = answer()
        taken()
        return results

    return send


async def _three_at_once(coalescer: Coalescer) -> list[object]:
    wait = asyncio.get_running_loop().time() + 10
    tasks = [asyncio.ensure_future(coalescer.predict(_inputs(t), None, None, wait)) for t in "abc"]
    return await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5)


@_scenario
async def test_a_failed_call_fails_every_request_it_carried_and_the_next_still_leave() -> None:
    calls: list[int] = []

    def fail() -> list[Result]:
        raise InvalidParameter("the whole call failed")

    coalescer = Coalescer(_counting(fail, calls))
    results = await _three_at_once(coalescer)
    assert all(isinstance(r, InvalidParameter) for r in results)
    assert calls == [1, 2]  # the failure ended the first call's transit
    wait = asyncio.get_running_loop().time() + 10
    with pytest.raises(InvalidParameter):  # and a later request is sent at once again
        await asyncio.wait_for(coalescer.predict(_inputs("d"), None, None, wait), 5)
    assert calls == [1, 2, 1]


@_scenario
async def test_closing_cancels_the_calls_out_and_the_requests_waiting() -> None:
    replica = _Replica()
    coalescer = Coalescer(replica.send)
    first, carried = await _alone_then_pair(coalescer)
    wait = asyncio.get_running_loop().time() + 10
    replica.take(0)  # "b" and "c" leave together, and are in transit
    await _settle()
    waiting = asyncio.ensure_future(coalescer.predict(_inputs("d"), None, None, wait))
    await _settle()
    await coalescer.close()
    await _settle()
    assert all(t.cancelled() for t in [*carried, waiting])
    assert replica.cancelled == 1 and len(replica.calls) == 2  # "d" never left
    replica.answer(0)
    assert [o.text for o in await first] == ["A"]  # a direct call belongs to its caller


@_scenario
async def test_callers_leaving_as_their_call_starts_leave_nothing_stuck() -> None:
    sent: list[str] = []
    pair: list[asyncio.Task[list[Output]]] = []
    gate = asyncio.Event()

    async def send(
        requests: list[Request], load_wait_s: float, taken: Callable[[], None]
    ) -> list[Result]:
        sent.append("".join(r.inputs[0].text for r in requests))
        if sent[-1] == "a":
            await gate.wait()
            for task in pair:  # the pair's callers leave, and in the same step, before
                task.cancel()  # they hear of it, this call is taken: the pair's call is
            taken()  # made, and its callers' leaving cancels it before it ever ran
        return [_outputs(r) for r in requests]

    coalescer = Coalescer(send)
    wait = asyncio.get_running_loop().time() + 10
    first = asyncio.ensure_future(coalescer.predict(_inputs("a"), None, None, wait))
    await _settle()
    pair += [asyncio.ensure_future(coalescer.predict(_inputs(t), None, None, wait)) for t in "bc"]
    await _settle()
    gate.set()
    assert [o.text for o in await first] == ["A"]
    await _settle()
    assert all(t.cancelled() for t in pair)
    assert sent == ["a"]  # the pair's call was cancelled before it ever sent
    later = await asyncio.wait_for(coalescer.predict(_inputs("d"), None, None, wait), 5)
    assert [o.text for o in later] == ["D"] and sent == ["a", "d"]  # no transit left standing


@_scenario
async def test_a_reply_that_does_not_match_its_call_fails_its_requests() -> None:
    calls: list[int] = []
    results = await _three_at_once(Coalescer(_counting(list, calls)))  # no result at all
    assert calls == [1, 2]
    assert all(isinstance(r, PredictionFailed) for r in results), results
    assert "answered 0 results to a call of 2 requests" in str(results[1])
