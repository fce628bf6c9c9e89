"""The built-in models through the Ray backend on a real two-node cluster: the same outputs
as in one process, batches formed inside the replica, an LLM stream piece by piece whose
cancellation stops the engine, autoscaling 1 -> 2 -> 1, and a Clarion server in front."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2
from PIL import Image
from skimage import data

from clarion.auth import PUBLIC_USER
from clarion.catalog import register_builtins
from clarion.client.channel import V2Client
from clarion.config import Settings
from clarion.domain.generation import GenerationParams
from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import Input, InputKind
from clarion.registry import Page, Registry
from clarion.registry.store import MAX_PER_PAGE
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import Backend, Deployment, LocalBackend
from clarion.runtime.ray.backend import RayBackend
from clarion.runtime.ray.replica import ReplicaStats
from clarion.server_thread import ServerThread
from tests.conftest import make_settings
from tests.integration.ray.conftest import RayCluster
from tests.integration.ray.versions import ray_backend, toy_version

pytestmark = pytest.mark.slow

COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"
#: Tokens the engine may still produce between the cancel and its noticing it.
SLACK = 24
GREEDY = GenerationParams(max_tokens=2000, do_sample=False, prompt_template="{prompt}")


def _settings(tmp_path: Path, cluster: RayCluster) -> Settings:
    return make_settings(tmp_path / "home", ray_address=cluster.address)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """The registry of the settings of ``_settings(tmp_path, ...)``."""
    settings = make_settings(tmp_path / "home")
    settings.home.mkdir(parents=True, exist_ok=True)
    registry = Registry.open(settings.resolved_database_url)
    yield registry
    registry.close()


def _builtin(registry: Registry, settings: Settings, model_id: str) -> Deployment:
    register_builtins(registry, settings)
    for model in registry.list_models([PUBLIC_USER], Page(1, MAX_PER_PAGE)):
        if model.model_id == model_id:
            version = registry.get_version(model)
            assert version is not None
            return Deployment.of(model, version)
    raise AssertionError(f"{model_id} is not installed")


Scenario = Callable[[Backend], Coroutine[Any, Any, Any]]


def _on(backend: Backend, scenario: Scenario) -> Any:
    async def run() -> Any:
        try:
            return await scenario(backend)
        finally:
            await backend.close()

    return asyncio.run(run())


def _ray(settings: Settings, registry: Registry) -> RayBackend:
    return ray_backend(settings, registry, RUNNER_FACTORIES)


def test_same_embeddings_and_scores_as_in_one_process(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster)
    minilm = _builtin(registry, settings, "all-minilm-l6-v2")
    images = _builtin(registry, settings, "general-image-recognition")
    texts = [Input(f"t{i}", InputKind.TEXT, text=f"sentence number {i}") for i in range(5)]
    cat = [Input("cat", InputKind.IMAGE, image=Image.fromarray(data.chelsea()))]

    async def outputs(backend: Backend) -> tuple[list[np.ndarray], np.ndarray]:
        embedded = await backend.predict(minilm, texts)
        (scored,) = await backend.predict(images, cat)
        assert scored.scores is not None
        return [o.embedding for o in embedded if o.embedding is not None], scored.scores

    local = _on(LocalBackend(RUNNER_FACTORIES, settings), outputs)
    remote = _on(_ray(settings, registry), outputs)
    assert len(remote[0]) == len(texts)
    for mine, theirs in zip(local[0], remote[0], strict=True):
        np.testing.assert_allclose(theirs, mine, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(remote[1], local[1], rtol=1e-5, atol=1e-7)


def test_concurrent_requests_form_batches_inside_the_replica(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster)
    minilm = _builtin(registry, settings, "all-minilm-l6-v2")

    async def scenario(backend: Backend) -> ReplicaStats:
        assert isinstance(backend, RayBackend)
        await backend.load(minilm)
        one = [[Input(f"q{i}", InputKind.TEXT, text=f"query {i}")] for i in range(32)]
        results = await asyncio.gather(*(backend.predict(minilm, inputs) for inputs in one))
        assert [r[0].embedding is not None for r in results] == [True] * 32
        return await backend.replica_stats(minilm)

    stats = _on(_ray(settings, registry), scenario)
    print(f"batch sizes in the replica: {stats.batch_sizes}, calls: {stats.call_sizes}")
    assert sum(stats.batch_sizes) == 32 and max(stats.batch_sizes) > 1
    # A fixed replica count: requests sent while a call was in transit shared calls.
    assert sum(stats.call_sizes) == 32 and len(stats.call_sizes) < 32


async def _settled(backend: RayBackend, version: Deployment) -> int:
    last = (await backend.replica_stats(version)).generated_tokens
    for _ in range(30):
        await asyncio.sleep(1.0)
        now = (await backend.replica_stats(version)).generated_tokens
        if now == last:
            return now
        last = now
    raise AssertionError("the engine kept generating after the cancel")


def test_an_llm_stream_arrives_piece_by_piece_and_cancelling_stops_it(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster)
    chat = _builtin(registry, settings, "smollm2-135m-instruct")
    prompt = Input("count", InputKind.TEXT, text=COUNTING)

    async def scenario(backend: Backend) -> None:
        assert isinstance(backend, RayBackend)
        await backend.load(chat)
        start = (await backend.replica_stats(chat)).generated_tokens
        pieces = []
        async with aclosing(backend.stream(chat, prompt, GREEDY)) as stream:
            async for piece in stream:
                pieces.append(piece)
                if len(pieces) == 5:
                    break
        gone_at = (await backend.replica_stats(chat)).generated_tokens
        assert all(p.text for p in pieces) and not any(p.finish_reason for p in pieces)
        stopped = await _settled(backend, chat)
        print(f"stream: {stopped - gone_at} tokens after the cancel")
        assert stopped - gone_at <= SLACK
        assert stopped - start < GREEDY.max_tokens // 2

        unary = asyncio.ensure_future(backend.predict(chat, [prompt], GREEDY))
        while (await backend.replica_stats(chat)).generated_tokens - stopped < 3:
            await asyncio.sleep(0.05)
        unary.cancel()
        gone_at = (await backend.replica_stats(chat)).generated_tokens
        final = await _settled(backend, chat)
        print(f"unary: {final - gone_at} tokens after the cancel")
        assert final - gone_at <= SLACK
        short = GenerationParams(max_tokens=2, do_sample=False)
        (answer,) = await backend.predict(chat, [Input("hi", InputKind.TEXT, text="hi")], short)
        assert answer.text  # the slot is free again

    _on(_ray(settings, registry), scenario)


def test_autoscaling_goes_one_two_one_under_a_bounded_load(
    tmp_path: Path, ray_cluster: RayCluster, registry: Registry
) -> None:
    settings = _settings(tmp_path, ray_cluster)
    scaling = ScalingSettings(
        min_replicas=1,
        max_replicas=2,
        target_ongoing_requests=1,
        max_ongoing_requests=4,
        scale_up_delay_seconds=0.5,
        scale_down_delay_seconds=2,
    )
    version = toy_version(registry, "scaled", scaling)
    slow = [Input("slow", InputKind.TEXT, text="slow")]

    async def scenario(backend: Backend) -> list[int]:
        assert isinstance(backend, RayBackend)
        await backend.load(version)
        seen = [await backend.running_replicas(version)]

        async def load() -> None:
            while True:
                await backend.predict(version, slow)

        workers = [asyncio.ensure_future(load()) for _ in range(6)]
        deadline = time.monotonic() + 90
        while seen[-1] < 2 and time.monotonic() < deadline:
            await asyncio.sleep(1)
            seen.append(await backend.running_replicas(version))
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        deadline = time.monotonic() + 90
        while seen[-1] > 1 and time.monotonic() < deadline:
            await asyncio.sleep(1)
            seen.append(await backend.running_replicas(version))
        return seen

    seen = _on(ray_backend(settings, registry), scenario)
    print(f"running replicas over time: {seen}")
    assert seen[0] == 1 and 2 in seen and seen[-1] == 1


def test_a_clarion_server_in_front_answers_grpc_from_ray(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    settings = _settings(tmp_path, ray_cluster)
    with ServerThread(settings, start_timeout_s=180) as server:
        request = service_pb2.PostModelOutputsRequest(
            user_app_id=resources_pb2.UserAppIDSet(user_id="clarion", app_id="main"),
            model_id="all-minilm-l6-v2",
            inputs=[
                resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw="hi")))
            ],
        )
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            response = V2Client(channel).PostModelOutputs(
                request, metadata=(("authorization", "Key " + server.pat),), timeout=180
            )
        assert response.status.code == status_code_pb2.SUCCESS, response.status
        assert len(response.outputs[0].data.embeddings[0].vector) == 384
        assert server.server is not None
        assert isinstance(server.server.core.backend, RayBackend)
