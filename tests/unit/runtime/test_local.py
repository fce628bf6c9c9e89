"""The local backend with small fake runners: load, batching, loading state, unloading."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path
from typing import Any

import pytest

from clarion.config import Settings
from clarion.domain.placement import Replica, ServedVersion
from clarion.domain.values import Input, InputKind, Output
from clarion.errors import ModelLoading, PredictionFailed
from clarion.metrics import Metrics
from clarion.runtime import Deployment, LocalBackend, Runner

EVENTS: list[str] = []
#: Lets a hanging FakeRunner call go at the end of a test.
RELEASE = threading.Event()
#: The runners built, by name (the latest one of each name).
RUNNERS: dict[str, FakeRunner] = {}


class FakeRunner(Runner[None]):
    """Upper-cases text; records loads, closes and batch sizes."""

    def __init__(self, spec: dict[str, Any], _settings: Settings) -> None:
        self.name = spec["name"]
        self.load_s = spec.get("load_s", 0.0)
        self.memory = spec.get("memory", 0)
        self.batch_sizes: list[int] = []
        self.lock = threading.Lock()
        RUNNERS[self.name] = self

    def load(self) -> None:
        time.sleep(self.load_s)
        EVENTS.append(f"load {self.name}")

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        with self.lock:
            self.batch_sizes.append(len(inputs))
        texts = [i.text for i in inputs]
        time.sleep(0.02)
        if "hang" in texts:
            RELEASE.wait(30)  # a runner that stops answering
        if "boom" in texts:
            raise RuntimeError("the runner broke")
        outputs = [Output(text=t.upper()) for t in texts]
        return outputs[:-1] if "short" in texts else outputs

    def memory_bytes(self) -> int:
        return int(self.memory)

    def close(self) -> None:
        EVENTS.append(f"close {self.name}")


def _version(name: str, model_id: str = "", **spec: Any) -> Deployment:
    version_id = name.ljust(32, "0")
    return Deployment(model_id or version_id, version_id, "fake", {"name": name, **spec})


def _pool(tmp_path: Path, **overrides: Any) -> LocalBackend:
    settings = Settings.from_env({"CLARION_HOME": str(tmp_path)}, **overrides)
    return LocalBackend({"fake": FakeRunner}, settings, Metrics().runtime_observer())


def _texts(*texts: str) -> list[Input]:
    return [Input(t, InputKind.TEXT, t) for t in texts]


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    EVENTS.clear()
    RUNNERS.clear()


def test_loads_once_on_first_use_and_batches_concurrent_requests(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = _pool(tmp_path, batch_max_delay_ms=50.0)
        version = _version("a")
        results = await asyncio.gather(*(pool.predict(version, _texts(f"x{i}")) for i in range(16)))
        assert [r[0].text for r in results] == [f"X{i}" for i in range(16)]
        assert EVENTS.count("load a") == 1
        runner = RUNNERS["a"]
        assert isinstance(runner, FakeRunner) and max(runner.batch_sizes) > 1
        await pool.close()

    asyncio.run(scenario())


def test_without_dynamic_batching_each_request_is_its_own_call(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = _pool(tmp_path, dynamic_batching=False)
        version = _version("b")
        await asyncio.gather(*(pool.predict(version, _texts(f"x{i}")) for i in range(8)))
        runner = RUNNERS["b"]
        assert isinstance(runner, FakeRunner) and runner.batch_sizes == [1] * 8
        await pool.close()

    asyncio.run(scenario())


def test_a_model_still_loading_answers_model_loading(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = _pool(tmp_path, load_wait_s=0.05)
        version = _version("slow", load_s=0.5)
        with pytest.raises(ModelLoading) as info:
            await pool.predict(version, _texts("early"))
        assert info.value.code == 21355
        await asyncio.sleep(0.7)
        assert version.version_id in pool.loaded_versions()
        assert (await pool.predict(version, _texts("later")))[0].text == "LATER"
        assert EVENTS.count("load slow") == 1
        await pool.close()

    asyncio.run(scenario())


def test_idle_versions_are_unloaded(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = _pool(tmp_path, idle_unload_s=0.1)
        version = _version("idle")
        await pool.predict(version, _texts("x"))
        assert version.version_id in pool.loaded_versions()
        await asyncio.sleep(0.4)
        assert version.version_id not in pool.loaded_versions()
        await asyncio.sleep(0.05)
        assert "close idle" in EVENTS
        assert (await pool.predict(version, _texts("again")))[0].text == "AGAIN"  # reloads
        assert EVENTS.count("load idle") == 2
        await pool.close()

    asyncio.run(scenario())


def test_memory_budget_unloads_the_least_recently_used(tmp_path: Path) -> None:
    async def scenario() -> None:
        pool = _pool(tmp_path, memory_budget_mb=100)
        a, b, c = (_version(n, memory=40 * 1024 * 1024) for n in "abc")
        await pool.predict(a, _texts("x"))
        await pool.predict(b, _texts("x"))
        await pool.predict(a, _texts("x"))  # a is now more recent than b
        await pool.predict(c, _texts("x"))
        assert pool.loaded_versions() == [a.version_id, c.version_id]
        await pool.close()

    asyncio.run(scenario())


def test_metrics_count_batches_and_loaded_models(tmp_path: Path) -> None:
    async def scenario() -> None:
        metrics = Metrics()
        settings = Settings.from_env({"CLARION_HOME": str(tmp_path)})
        pool = LocalBackend({"fake": FakeRunner}, settings, metrics.runtime_observer())
        await pool.predict(_version("m", model_id="m-model"), _texts("x", "y"))
        text = metrics.render().decode()
        assert 'clarion_batch_size_count{model="m-model"' in text
        assert "clarion_loaded_models 1.0" in text
        # Both inputs were admitted, and their places are free again once they answered.
        assert (
            f'clarion_in_flight_inputs{{model="m-model",version="{"m".ljust(32, "0")}"}} 0.0'
            in text
        )
        await pool.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("batching", [True, False])
def test_runner_faults_reach_every_caller_with_a_status_and_the_model_keeps_serving(
    tmp_path: Path, batching: bool
) -> None:
    async def scenario() -> None:
        pool = _pool(
            tmp_path, runner_timeout_s=0.5, batch_max_delay_ms=50.0, dynamic_batching=batching
        )
        version = _version("faulty")
        await pool.load(version)
        for bad, expected in [
            ("short", "outputs for a batch of"),
            ("boom", "the runner broke"),
            ("hang", "did not answer within 0.5 s (CLARION_RUNNER_TIMEOUT_S)"),
        ]:
            # with batching, the bad input and a bystander share one batch
            calls = [pool.predict(version, _texts(bad, "x"))]
            if batching:
                calls.append(pool.predict(version, _texts("bystander")))
            results = await asyncio.wait_for(
                asyncio.gather(*calls, return_exceptions=True), timeout=20
            )
            for result in results:
                assert isinstance(result, PredictionFailed), (bad, result)
                assert result.code == 21313 and expected in str(result), (bad, str(result))
            healthy = await asyncio.wait_for(pool.predict(version, _texts("fine")), timeout=20)
            assert healthy[0].text == "FINE"
        # both model threads can hang in turn: fresh threads keep the model serving
        for _ in range(2):
            with pytest.raises(PredictionFailed):
                await asyncio.wait_for(pool.predict(version, _texts("hang")), timeout=20)
        healthy = await asyncio.wait_for(pool.predict(version, _texts("still")), timeout=20)
        assert healthy[0].text == "STILL"
        RELEASE.set()
        await pool.close()

    RELEASE.clear()
    asyncio.run(scenario())


class OneSlotStreamer(FakeRunner):
    """Streams a text's words; admits one input at a time."""

    batchable = False
    max_in_flight = 1

    def stream(self, item: Input, params: None, emit: Any, stop: threading.Event) -> Output:
        for word in item.text.split():
            if stop.is_set() or not emit(Output(text=word)):
                break
        return Output(finish_reason="stop")


def test_a_finished_stream_frees_its_place_before_its_final_output_is_read(
    tmp_path: Path,
) -> None:
    """A client that has the whole answer may send its next request at once, before the
    first stream's generator is closed: the model must not answer it 21354."""

    async def scenario() -> None:
        settings = Settings.from_env({"CLARION_HOME": str(tmp_path)})
        pool = LocalBackend({"fake": OneSlotStreamer}, settings)
        version = _version("s")
        (item,) = _texts("one two")
        first = pool.stream(version, item)
        pieces = [await anext(first) for _ in range(3)]  # two words, then the final output
        assert [p.text for p in pieces[:2]] == ["one", "two"]
        assert pieces[2].finish_reason == "stop"
        second = [p async for p in pool.stream(version, item)]  # the first is still open
        assert second[-1].finish_reason == "stop"
        assert isinstance(first, AsyncGenerator)
        await first.aclose()
        await pool.close()

    asyncio.run(scenario())


def test_served_lists_each_loaded_version_with_this_process_as_its_replica(
    tmp_path: Path,
) -> None:
    async def scenario() -> list[ServedVersion]:
        pool = _pool(tmp_path)
        assert await pool.served() == []
        await pool.load(_version("c", model_id="model-c"))
        try:
            return await pool.served()
        finally:
            await pool.close()

    (served,) = asyncio.run(scenario())
    assert (served.model_id, served.version_id) == ("model-c", "c".ljust(32, "0"))
    assert served.replicas == (Replica("RUNNING", "", socket.gethostname(), os.getpid()),)


#: Run in a process of its own: other tests' servers and threads share this process's BLAS.
_BLAS_CHECK = """
import json
import sys
from threadpoolctl import threadpool_info, threadpool_limits
from clarion.config import Settings
from clarion.metrics import Metrics
from clarion.runtime import LocalBackend

def counts():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

threadpool_limits(limits=2, user_api="blas")
before = counts()
LocalBackend({}, Settings.from_env({"CLARION_HOME": sys.argv[1]}), Metrics().runtime_observer())
print(json.dumps({"before": before, "after": counts()}))
"""


def test_numpy_blas_runs_single_threaded_once_a_backend_exists(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _BLAS_CHECK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    counts = json.loads(done.stdout)
    assert counts["before"] and all(n == 2 for n in counts["before"]), counts
    assert all(n == 1 for n in counts["after"]), counts
