"""Serving runtime through a real server: overload, readiness, metrics and preloading."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import numpy as np
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2

from clarion.catalog import BUILTIN_MODELS
from clarion.rpcs import RPCS
from clarion.server_thread import ServerThread
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")


def _request(texts: list[str]) -> service_pb2.PostModelOutputsRequest:
    return service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP,
        model_id="all-minilm-l6-v2",
        inputs=[
            resources_pb2.Input(id=t, data=resources_pb2.Data(text=resources_pb2.Text(raw=t)))
            for t in texts
        ],
    )


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """A server whose embedder queue holds 8 inputs and waits 300 ms to fill a batch."""
    settings = make_settings(
        tmp_path_factory.mktemp("tight"),
        queue_size=8,
        batch_max_delay_ms=300.0,
        preload=frozenset({"all-minilm-l6-v2"}),
    )
    with ServerThread(settings) as running:
        yield running


def test_a_flood_gets_busy_for_the_excess_and_right_answers_for_the_rest(
    tight: ServerThread,
) -> None:
    async def flood() -> list[service_pb2.MultiOutputResponse]:
        rpc = RPCS["PostModelOutputs"]
        async with grpc.aio.insecure_channel(f"127.0.0.1:{tight.grpc_port}") as channel:
            call = channel.unary_unary(
                "/clarifai.api.V2/PostModelOutputs",
                request_serializer=rpc.request_class.SerializeToString,
                response_deserializer=rpc.response_class.FromString,
            )
            metadata = (("authorization", "Key " + tight.pat),)
            requests = [_request([f"flood {i} a", f"flood {i} b"]) for i in range(30)]
            return list(await asyncio.gather(*(call(r, metadata=metadata) for r in requests)))

    responses = asyncio.run(flood())
    codes = [r.status.code for r in responses]
    busy = codes.count(status_code_pb2.MODEL_BUSY_PLEASE_RETRY)
    ok = codes.count(status_code_pb2.SUCCESS)
    assert busy > 0 and ok > 0 and busy + ok == 30
    assert all("queue is full" in r.status.details for r in responses if r.status.code != 10000)
    reference = asyncio.run(flood_reference(tight))
    for response in responses:
        if response.status.code == status_code_pb2.SUCCESS:
            for output in response.outputs:
                expected = reference(output.input.id)
                np.testing.assert_allclose(output.data.embeddings[0].vector, expected, atol=1e-4)
    metrics = httpx.get(
        f"{tight.rest_url}/metrics", headers={"Authorization": "Bearer " + tight.pat}
    ).text
    assert 'clarion_queue_depth{model="all-minilm-l6-v2"' in metrics
    depth_lines = [line for line in metrics.splitlines() if line.startswith("clarion_queue_depth{")]
    assert depth_lines and all(line.endswith(" 0.0") for line in depth_lines)  # nothing left


async def flood_reference(server: ServerThread) -> Callable[[str], list[float]]:
    """Embeddings of the flood's texts computed one request at a time, for comparison."""

    vectors: dict[str, list[float]] = {}

    def lookup(text: str) -> list[float]:
        return vectors[text]

    rpc = RPCS["PostModelOutputs"]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        call = channel.unary_unary(
            "/clarifai.api.V2/PostModelOutputs",
            request_serializer=rpc.request_class.SerializeToString,
            response_deserializer=rpc.response_class.FromString,
        )
        texts = [f"flood {i} {s}" for i in range(30) for s in "ab"]
        for start in range(0, len(texts), 8):
            response = await call(
                _request(texts[start : start + 8]),
                metadata=(("authorization", "Key " + server.pat),),
            )
            for output in response.outputs:
                vectors[output.input.id] = list(output.data.embeddings[0].vector)
    return lookup


def test_readiness_health_and_metrics(tight: ServerThread) -> None:
    assert httpx.get(f"{tight.rest_url}/healthz").status_code == 200
    ready = httpx.get(f"{tight.rest_url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"registry": True, "preloaded_models": True},
    }
    assert httpx.get(f"{tight.rest_url}/metrics").status_code == 401  # no key
    headers = {"Authorization": "Key " + tight.pat}
    before = httpx.get(f"{tight.rest_url}/metrics", headers=headers).text
    httpx.post(
        f"{tight.rest_url}/v2/models/no-such-model/outputs",
        json={"inputs": [{"data": {"text": {"raw": "x"}}}]},
        headers=headers,
    )
    after = httpx.get(f"{tight.rest_url}/metrics", headers=headers).text

    def count(text: str) -> float:
        for line in text.splitlines():
            if line.startswith("clarion_requests_total{") and 'model="no-such-model"' in line:
                return float(line.rsplit(" ", 1)[1])
        return 0.0

    assert count(after) == count(before) + 1
    assert 'code="21200"' in after
    assert "clarion_loaded_models 1.0" in after
    assert "clarion_request_latency_seconds_bucket" in after


def test_readiness_waits_for_preloading(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", preload=frozenset({"all"}))
    with ServerThread(settings) as running:
        running.wait_ready()
        body = httpx.get(f"{running.rest_url}/readyz").json()
        assert body["status"] == "ready"
        metrics = httpx.get(
            f"{running.rest_url}/metrics", headers={"Authorization": "Key " + running.pat}
        ).text
        assert f"clarion_loaded_models {float(len(BUILTIN_MODELS))}" in metrics
