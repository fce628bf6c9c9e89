"""The Ray backend's contract on a real two-node cluster, with a toy runner family:
errors keep their codes across Ray, back-pressure is 21354, a version still deploying 21355,
one scaled to zero 21355 after the load wait (and a replica then starts), while a request
slower than the load wait on a running replica is not cut, one that failed to deploy 21313
with the replica's error,
a deploy that fails before Serve makes the application 21313 with its reason at once and is
tried again only after a back-off (at once when its settings change), domain values and
errors survive pickling, and two replicas run on the two nodes."""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ray import serve

from clarion.config import Settings
from clarion.domain.placement import ServedVersion
from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import Input, InputKind, Output
from clarion.errors import (
    ClarionError,
    InvalidParameter,
    ModelBusy,
    ModelLoading,
    ModelNotReady,
    PredictionFailed,
    StatusCode,
    Throttled,
    TrainingRefused,
)
from clarion.registry import Registry
from clarion.runtime import Deployment
from clarion.runtime.ray.backend import RayBackend
from tests.conftest import make_settings
from tests.integration.ray.conftest import RayCluster
from tests.integration.ray.versions import ray_backend, toy_version

pytestmark = pytest.mark.slow


def _settings(tmp_path: Path, cluster: RayCluster, **overrides: object) -> Settings:
    settings = make_settings(tmp_path / "home", ray_address=cluster.address, **overrides)
    settings.home.mkdir(parents=True)
    return settings


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    yield registry
    registry.close()


def _text(text: str) -> Input:
    return Input(text, InputKind.TEXT, text=text)


def test_domain_values_and_errors_pickle() -> None:
    output = Output(embedding=np.arange(3, dtype=np.float32), text="x")
    again = pickle.loads(pickle.dumps(output))
    assert again.text == "x" and again.embedding is not None
    np.testing.assert_array_equal(again.embedding, output.embedding)
    errors: list[ClarionError] = [
        InvalidParameter("too hot", parameter="temperature", value=3),
        ModelBusy("full"),
        Throttled("slow down", retry_after_s=2.5),
        ModelNotReady("training", code=StatusCode.MODEL_TRAINING_NO_DATA),
        TrainingRefused("no data"),
        ModelLoading(),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error)
        assert (copy.code, copy.details, copy.description, str(copy)) == (
            error.code, error.details, error.description, str(error),
        )  # fmt: skip
        assert vars(copy) == vars(error)


def test_errors_busy_and_loading_keep_their_codes(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster, load_wait_s=0.5)

    async def scenario() -> None:
        backend = ray_backend(settings, registry)
        try:
            bounded = ScalingSettings(max_ongoing_requests=1, max_queued_requests=1)
            echo = toy_version(registry, "echo", bounded)
            await backend.load(echo)
            assert [o.text for o in await backend.predict(echo, [_text("hi")])] == ["HI"]
            with pytest.raises(InvalidParameter) as bad:
                await backend.predict(echo, [_text("bad")])
            assert bad.value.code == 21202 and bad.value.parameter == "text"
            assert "bad is not a word" in bad.value.details

            slow = [backend.predict(echo, [_text("slow")]) for _ in range(6)]
            results = await asyncio.gather(*slow, return_exceptions=True)
            busy = [r for r in results if isinstance(r, ModelBusy)]
            assert busy and all(isinstance(r, ModelBusy | list) for r in results), results
            assert busy[0].code == 21354

            loading = toy_version(registry, "loading", load_s=8)
            with pytest.raises(ModelLoading) as still:
                await backend.predict(loading, [_text("hi")])
            assert still.value.code == 21355
            await backend.load(loading)
            assert [o.text for o in await backend.predict(loading, [_text("a")])] == ["A"]
        finally:
            await backend.close()

    asyncio.run(scenario())


async def _replicas_become(backend: RayBackend, version: Deployment, count: int) -> float:
    """Wait until ``version`` runs ``count`` replicas; the seconds it took."""
    started = time.monotonic()
    while await backend.running_replicas(version) != count:
        assert time.monotonic() - started < 90, f"never {count} running replicas"
        await asyncio.sleep(0.25)
    return time.monotonic() - started


def test_a_version_scaled_to_zero_answers_21355_then_starts_a_replica(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster, load_wait_s=1.0)

    async def scenario() -> None:
        backend = ray_backend(settings, registry)
        try:
            scaling = ScalingSettings(
                min_replicas=0, max_replicas=1, scale_down_delay_seconds=12,
                scale_to_zero_delay_seconds=8,
            )  # fmt: skip
            version = toy_version(registry, "zero", scaling)
            await backend.load(version)
            print(f"scaled to zero in {await _replicas_become(backend, version, 0):.1f} s")

            # No replica runs: each call waits the load wait, is cancelled, and answers 21355.
            started = time.monotonic()
            predicted = backend.predict(version, [_text("hi")])
            streamed = anext(backend.stream(version, _text("hi")))
            calls = asyncio.gather(predicted, streamed, return_exceptions=True)
            results = await asyncio.wait_for(calls, 30)  # unbounded before: never answered
            waited = time.monotonic() - started
            assert all(isinstance(r, ModelLoading) for r in results), results
            for loading in results:
                assert isinstance(loading, ModelLoading) and loading.code == 21355
                assert "starting its replicas on the Ray cluster" in loading.details
                assert "retry" in loading.details
            assert 1.0 <= waited < 10, waited

            # They asked for a replica all the same; once it runs, requests are answered,
            # one slower than the load wait included (a replica took it: it is not cut).
            print(f"a replica ran {await _replicas_become(backend, version, 1):.1f} s later")
            started = time.monotonic()
            slow = await backend.predict(version, [_text("slow")])
            assert [o.text for o in slow] == ["SLOW"]
            pieces = [p async for p in backend.stream(version, _text("slow"))]
            assert [p.text for p in pieces][:1] == ["SLOW"]
            assert time.monotonic() - started >= 4.0
        finally:
            await backend.close()

    asyncio.run(scenario())


def test_a_version_that_fails_to_deploy_answers_its_error(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster)

    async def scenario() -> None:
        backend = ray_backend(settings, registry)
        try:
            broken = toy_version(registry, "broken", broken="the weights are missing")
            for _ in range(2):  # the failure stays; it is not deployed again and again
                with pytest.raises(PredictionFailed) as failed:
                    await backend.load(broken)
                assert failed.value.code == 21313
                assert "failed to deploy on the Ray cluster" in str(failed.value)
                assert "the weights are missing" in str(failed.value)
        finally:
            await backend.close()

    asyncio.run(scenario())


class _Unsendable:
    """A runner factory that cannot be pickled to a replica: every deploy with it fails in
    ``serve.run``, before Serve makes the application."""

    def __call__(self, spec: dict[str, object], settings: Settings) -> None:
        raise AssertionError("never called")

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("this runner factory cannot leave its process")


def _tries(caplog: pytest.LogCaptureFixture) -> int:
    """The deploys the reconciler tried that failed (it logs each one)."""
    return sum("failed to deploy on Ray" in r.getMessage() for r in caplog.records)


def test_a_deploy_that_fails_before_serve_makes_the_application_backs_off(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "clarion.runtime.ray.reconciler")
    settings = _settings(tmp_path, ray_cluster, load_wait_s=60)

    async def scenario() -> None:
        backend = ray_backend(settings, registry, {"toy": _Unsendable()})  # type: ignore[dict-item]
        try:
            version = toy_version(registry, "unsent")
            started = time.monotonic()
            for _ in range(2):  # at once, not after the load wait
                with pytest.raises(PredictionFailed) as failed:
                    await backend.load(version)
                assert failed.value.code == 21313
                assert "failed to deploy on the Ray cluster" in failed.value.details
                assert failed.value.details.endswith(
                    "Could not serialize the deployment init args: "
                    "this runner factory cannot leave its process"
                ), failed.value.details
            assert time.monotonic() - started < 10
            first = time.monotonic()
            await asyncio.sleep(7)  # tries at 0, 2 and 6 s; one each second without back-off
            tries = _tries(caplog)
            print(f"{tries} tries in {time.monotonic() - first:.1f} s")
            assert 2 <= tries <= 4, tries
            assert version.version_id not in serve.status().applications

            # New settings are tried at once (the back-off would wait until 14 s).
            registry.set_scaling(version.version_id, ScalingSettings(max_queued_requests=3))
            changed = time.monotonic()
            while _tries(caplog) == tries:
                assert time.monotonic() - changed < 4, "the new settings were not tried"
                await asyncio.sleep(0.1)
        finally:
            await backend.close()

    asyncio.run(scenario())


def test_two_replicas_run_on_the_two_nodes(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster)

    async def scenario() -> tuple[set[str], list[ServedVersion]]:
        backend = ray_backend(settings, registry)
        try:
            version = toy_version(registry, "pair", ScalingSettings(min_replicas=2, max_replicas=2))
            await backend.load(version)
            nodes: set[str] = set()
            for _ in range(10):
                stats = await asyncio.gather(*(backend.replica_stats(version) for _ in range(8)))
                nodes |= {s.node_id for s in stats}
                if len(nodes) == 2:
                    break
            return nodes, await backend.served()
        finally:
            await backend.close()

    nodes, served = asyncio.run(scenario())
    assert len(nodes) == 2
    # What `clarion status` shows: the version, its two running replicas and their nodes.
    (pair,) = [v for v in served if v.version_id == "pair".ljust(32, "0")]
    assert pair.model_id == "toy"
    assert sorted(r.state for r in pair.replicas) == ["RUNNING", "RUNNING"]
    assert {r.node_id for r in pair.replicas} == nodes
    assert all(r.node_address and r.pid > 0 for r in pair.replicas)
