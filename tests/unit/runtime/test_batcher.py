"""The dynamic batcher on its own: sizes, delays, routing, cancellation, errors, limits."""

from __future__ import annotations

import asyncio

import pytest

from clarion.domain.values import Input, InputKind, Output
from clarion.errors import ModelBusy, PredictionFailed
from clarion.runtime.batcher import BatchingConfig, DynamicBatcher


def _inputs(*texts: str) -> list[Input]:
    return [Input(t, InputKind.TEXT, t) for t in texts]


class Recorder:
    """A fake model: echoes texts and records each batch it was given."""

    def __init__(self, delay_s: float = 0.0, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.delay_s = delay_s
        self.fail_on = fail_on

    async def __call__(self, batch: list[Input]) -> list[Output]:
        self.batches.append([i.text for i in batch])
        await asyncio.sleep(self.delay_s)
        if self.fail_on is not None and self.fail_on in self.batches[-1]:
            raise RuntimeError(f"model failed on {self.fail_on}")
        return [Output(text=i.text.upper()) for i in batch]


def test_concurrent_requests_share_batches_up_to_the_size() -> None:
    async def scenario() -> None:
        model = Recorder()
        batcher = DynamicBatcher(model, BatchingConfig(max_batch_size=4, max_delay_s=0.05))
        results = await asyncio.gather(*(batcher.submit(_inputs(f"r{i}")) for i in range(10)))
        assert [r[0].text for r in results] == [f"R{i}" for i in range(10)]
        assert [len(b) for b in model.batches] == [4, 4, 2]
        await batcher.close()

    asyncio.run(scenario())


def test_a_lone_input_waits_at_most_the_delay() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        batcher = DynamicBatcher(Recorder(), BatchingConfig(max_batch_size=64, max_delay_s=0.1))
        start = loop.time()
        (out,) = await batcher.submit(_inputs("solo"))
        waited = loop.time() - start
        assert out.text == "SOLO" and 0.09 <= waited < 2.0
        await batcher.close()

    asyncio.run(scenario())


def test_a_full_batch_runs_without_waiting_for_the_delay() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        model = Recorder()
        batcher = DynamicBatcher(model, BatchingConfig(max_batch_size=3, max_delay_s=30))
        start = loop.time()
        outs = await batcher.submit(_inputs("a", "b", "c"))
        assert [o.text for o in outs] == ["A", "B", "C"] and loop.time() - start < 5
        await batcher.close()

    asyncio.run(scenario())


def test_multi_input_requests_get_their_own_outputs_in_order() -> None:
    async def scenario() -> None:
        model = Recorder()
        batcher = DynamicBatcher(model, BatchingConfig(max_batch_size=5, max_delay_s=0.05))
        a, b = await asyncio.gather(
            batcher.submit(_inputs("a1", "a2", "a3")), batcher.submit(_inputs("b1", "b2", "b3"))
        )
        assert [o.text for o in a] == ["A1", "A2", "A3"]
        assert [o.text for o in b] == ["B1", "B2", "B3"]
        assert model.batches == [["a1", "a2", "a3", "b1", "b2"], ["b3"]]
        await batcher.close()

    asyncio.run(scenario())


def test_cancelled_callers_are_dropped() -> None:
    async def scenario() -> None:
        model = Recorder()
        batcher = DynamicBatcher(model, BatchingConfig(max_batch_size=8, max_delay_s=0.1))
        doomed = asyncio.ensure_future(batcher.submit(_inputs("doomed")))
        kept = asyncio.ensure_future(batcher.submit(_inputs("kept")))
        await asyncio.sleep(0.01)
        doomed.cancel()
        assert (await kept)[0].text == "KEPT"
        assert model.batches == [["kept"]]
        assert doomed.cancelled()
        await batcher.close()

    asyncio.run(scenario())


def test_an_error_reaches_every_caller_in_that_batch_only() -> None:
    async def scenario() -> None:
        model = Recorder(fail_on="bad")
        batcher = DynamicBatcher(model, BatchingConfig(max_batch_size=2, max_delay_s=0.05))
        results = await asyncio.gather(
            batcher.submit(_inputs("bad")),
            batcher.submit(_inputs("unlucky")),
            batcher.submit(_inputs("fine")),
            return_exceptions=True,
        )
        for failed in results[:2]:
            assert isinstance(failed, PredictionFailed) and failed.code == 21313
            assert "model failed on bad" in str(failed)
        assert isinstance(results[2], list) and [o.text for o in results[2]] == ["FINE"]
        assert (await batcher.submit(_inputs("after")))[0].text == "AFTER"
        await batcher.close()

    asyncio.run(scenario())


def test_a_wrong_output_count_fails_every_caller_of_that_batch_and_the_next_batch_runs() -> None:
    class ShortChanging:
        """Drops the last output of any batch that holds "short"."""

        async def __call__(self, batch: list[Input]) -> list[Output]:
            outputs = [Output(text=i.text.upper()) for i in batch]
            return outputs[:-1] if any(i.text == "short" for i in batch) else outputs

    async def scenario() -> None:
        batcher = DynamicBatcher(
            ShortChanging(), BatchingConfig(max_batch_size=3, max_delay_s=0.05)
        )
        results = await asyncio.wait_for(
            asyncio.gather(
                batcher.submit(_inputs("short", "a")),
                batcher.submit(_inputs("b")),
                batcher.submit(_inputs("c")),
                return_exceptions=True,
            ),
            timeout=10,
        )
        for failed in results[:2]:
            assert isinstance(failed, PredictionFailed)
            assert "returned 2 outputs for a batch of 3" in str(failed)
        assert isinstance(results[2], list) and [o.text for o in results[2]] == ["C"]
        assert (await batcher.submit(_inputs("after")))[0].text == "AFTER"
        await batcher.close()

    asyncio.run(scenario())


def test_a_full_queue_refuses_at_once_and_whole() -> None:
    async def scenario() -> None:
        model = Recorder(delay_s=0.2)
        batcher = DynamicBatcher(
            model, BatchingConfig(max_batch_size=2, max_delay_s=0.0, max_queue=3)
        )
        first = asyncio.ensure_future(batcher.submit(_inputs("a", "b")))  # runs
        await asyncio.sleep(0.05)
        queued = asyncio.ensure_future(batcher.submit(_inputs("c", "d", "e")))  # fills the queue
        await asyncio.sleep(0)
        with pytest.raises(ModelBusy, match="queue is full"):
            await batcher.submit(_inputs("f"))
        assert len(await first) == 2 and len(await queued) == 3
        assert batcher.queue_depth == 0
        await batcher.close()

    asyncio.run(scenario())


def test_expired_items_are_not_run() -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        model = Recorder(delay_s=0.2)
        batcher = DynamicBatcher(model, BatchingConfig(max_batch_size=1, max_delay_s=0.0))
        slow = asyncio.ensure_future(batcher.submit(_inputs("slow")))
        await asyncio.sleep(0.01)
        with pytest.raises(ModelBusy, match="deadline"):
            await batcher.submit(_inputs("late"), deadline=loop.time() + 0.05)
        await slow
        assert model.batches == [["slow"]]
        await batcher.close()

    asyncio.run(scenario())
