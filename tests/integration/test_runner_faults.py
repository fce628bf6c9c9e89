"""A faulty model through a real server: every caller of the bad batch gets 21313 with the
reason, over gRPC and REST, and the same model answers correctly right after."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2

from clarion.client.channel import V2Client
from clarion.domain.values import Input, Output
from clarion.runners import TextEmbeddingRunner
from clarion.server_thread import ServerThread
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
PATH = "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs"
RELEASE = threading.Event()


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The real embedder, whose predict misbehaves on a text saying how."""
    real = TextEmbeddingRunner.predict

    def predict(
        self: TextEmbeddingRunner, inputs: Sequence[Input], params: Any = None
    ) -> list[Output]:
        texts = {i.text for i in inputs}
        if "hang" in texts:
            RELEASE.wait(30)
        if "raise" in texts:
            raise RuntimeError("the tokenizer exploded")
        outputs = real(self, inputs, params)
        return outputs[:-1] if "short" in texts else outputs

    settings = make_settings(
        tmp_path_factory.mktemp("faulty"),
        runner_timeout_s=1.0,
        batch_max_delay_ms=500.0,
        preload=frozenset({"all-minilm-l6-v2"}),
    )
    patcher = pytest.MonkeyPatch()
    patcher.setattr(TextEmbeddingRunner, "predict", predict)
    try:
        with ServerThread(settings) as running:
            running.wait_ready()
            yield running
    finally:
        RELEASE.set()
        patcher.undo()


def _request(*texts: str) -> service_pb2.PostModelOutputsRequest:
    return service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP,
        model_id="all-minilm-l6-v2",
        inputs=[
            resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw=t)))
            for t in texts
        ],
    )


@pytest.mark.parametrize(
    ("trigger", "reason"),
    [
        ("short", "outputs for a batch of 2 inputs"),
        ("raise", "the tokenizer exploded"),
        ("hang", "did not answer within 1 s (CLARION_RUNNER_TIMEOUT_S)"),
    ],
)
def test_a_faulty_batch_fails_each_of_its_callers_and_the_model_keeps_serving(
    faulty: ServerThread, trigger: str, reason: str
) -> None:
    metadata = (("authorization", "Key " + faulty.pat),)
    with grpc.insecure_channel(f"127.0.0.1:{faulty.grpc_port}") as channel:
        client = V2Client(channel)

        def grpc_call() -> tuple[int, str]:
            response = client.PostModelOutputs(_request(trigger), metadata=metadata, timeout=30)
            return response.status.code, response.status.details

        def rest_call() -> tuple[int, str]:
            time.sleep(0.05)  # joins the same batch (the batcher waits 500 ms for company)
            body = {"inputs": [{"data": {"text": {"raw": "bystander"}}}]}
            answer = httpx.post(
                faulty.rest_url + PATH,
                json=body,
                timeout=30,
                headers={"authorization": "Key " + faulty.pat},
            )
            assert answer.status_code == 500
            status = answer.json()["status"]
            return status["code"], status["details"]

        with ThreadPoolExecutor(2) as pool:
            results = [f.result() for f in [pool.submit(grpc_call), pool.submit(rest_call)]]
        for code, details in results:
            assert code == 21313 and reason in details, details
        after = client.PostModelOutputs(_request("fine"), metadata=metadata, timeout=30)
        assert after.status.code == 10000 and len(after.outputs[0].data.embeddings[0].vector) == 384
