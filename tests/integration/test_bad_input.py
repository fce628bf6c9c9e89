"""Bad input gets a specific status, over gRPC and REST, and the server keeps serving."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2

from clarion.client.channel import V2Client
from clarion.server_thread import ServerThread
from tests.conftest import Metadata

pytestmark = pytest.mark.slow

USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
MODEL_ID = "all-minilm-l6-v2"
PREDICT_PATH = "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs"


def _texts(*texts: str) -> list[resources_pb2.Input]:
    return [
        resources_pb2.Input(id=f"i{n}", data=resources_pb2.Data(text=resources_pb2.Text(raw=t)))
        for n, t in enumerate(texts)
    ]


def _predict(
    client: V2Client, metadata: Metadata, inputs: list[resources_pb2.Input], **fields: Any
) -> service_pb2.MultiOutputResponse:
    fields.setdefault("user_app_id", USER_APP)
    fields.setdefault("model_id", MODEL_ID)
    response: service_pb2.MultiOutputResponse = client.PostModelOutputs(
        service_pb2.PostModelOutputsRequest(inputs=inputs, **fields), metadata=metadata
    )
    return response


def _still_serving(client: V2Client, metadata: Metadata) -> None:
    assert _predict(client, metadata, _texts("still here")).status.code == status_code_pb2.SUCCESS


def test_empty_text_fails_that_input_only(client: V2Client, metadata: Metadata) -> None:
    response = _predict(client, metadata, _texts("fine", "   ", "also fine"))
    assert response.status.code == status_code_pb2.MIXED_STATUS
    codes = [o.status.code for o in response.outputs]
    assert codes == [10000, status_code_pb2.INPUT_INVALID_ARGUMENT, 10000]
    assert "empty" in response.outputs[1].status.details
    assert not response.outputs[1].data.embeddings


def test_all_inputs_failing_is_failure(client: V2Client, metadata: Metadata) -> None:
    no_data = [resources_pb2.Input(id="nothing")]
    response = _predict(client, metadata, no_data)
    assert response.status.code == status_code_pb2.FAILURE
    assert response.outputs[0].status.code == status_code_pb2.INPUT_INVALID_ARGUMENT


def test_image_sent_to_a_text_model(client: V2Client, metadata: Metadata) -> None:
    image = resources_pb2.Input(
        data=resources_pb2.Data(image=resources_pb2.Image(base64=b"\x89PNG"))
    )
    response = _predict(client, metadata, [image])
    assert response.outputs[0].status.code == status_code_pb2.INPUT_UNSUPPORTED_FORMAT


@pytest.mark.parametrize("count", [0, 129])
def test_batch_size_limits(client: V2Client, metadata: Metadata, count: int) -> None:
    response = _predict(client, metadata, _texts(*["x"] * count))
    assert response.status.code == status_code_pb2.PREDICT_INVALID_REQUEST
    assert "1 to 128" in response.status.details and str(count) in response.status.details
    _still_serving(client, metadata)


def test_batch_of_128_is_accepted(client: V2Client, metadata: Metadata) -> None:
    response = _predict(client, metadata, _texts(*[f"sentence {i}" for i in range(128)]))
    assert response.status.code == status_code_pb2.SUCCESS and len(response.outputs) == 128


@pytest.mark.parametrize(
    "fields, code, fragment",
    [
        ({"model_id": "no-such-model"}, status_code_pb2.MODEL_DOES_NOT_EXIST, "no-such-model"),
        ({"version_id": "0" * 32}, status_code_pb2.MODEL_DOES_NOT_EXIST, "0" * 32),
        (
            {"user_app_id": resources_pb2.UserAppIDSet(user_id="clarion", app_id="nope")},
            status_code_pb2.CONN_DOES_NOT_EXIST,
            "clarion/nope",
        ),
        (
            {"user_app_id": resources_pb2.UserAppIDSet(user_id="someone", app_id="main")},
            status_code_pb2.CONN_DOES_NOT_EXIST,
            "someone/main",
        ),
    ],
)
def test_unknown_model_version_or_app(
    client: V2Client, metadata: Metadata, fields: dict[str, Any], code: int, fragment: str
) -> None:
    response = _predict(client, metadata, _texts("hello"), **fields)
    assert response.status.code == code
    assert fragment in response.status.details
    _still_serving(client, metadata)


def test_inference_params_are_refused_by_embedders(client: V2Client, metadata: Metadata) -> None:
    model = resources_pb2.Model()
    model.model_version.output_info.params.update({"temperature": 0.5})
    response = _predict(client, metadata, _texts("hello"), model=model)
    assert response.status.code == status_code_pb2.MODEL_INVALID_ARGUMENT
    assert "temperature" in response.status.details


def test_non_utf8_text_bytes(server: ServerThread, client: V2Client, metadata: Metadata) -> None:
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP, model_id=MODEL_ID, inputs=_texts("PLACEHOLDER")
    ).SerializeToString()
    raw = request.replace(b"PLACEHOLDER", b"\xff\xfe\xfd bad!!!!")
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        call = channel.unary_unary(
            "/clarifai.api.V2/PostModelOutputs",
            request_serializer=lambda b: b,
            response_deserializer=service_pb2.MultiOutputResponse.FromString,
        )
        response = call(raw, metadata=metadata)
    assert response.status.code == status_code_pb2.CONN_INVALID_REQUEST
    assert "UTF-8" in response.status.details
    _still_serving(client, metadata)


def test_oversized_text_is_over_limit(client: V2Client, metadata: Metadata) -> None:
    response = _predict(client, metadata, _texts("a" * (1024 * 1024 + 1)))
    assert response.outputs[0].status.code == status_code_pb2.INPUT_OVER_LIMIT
    assert "1048576" in response.outputs[0].status.details


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"inputs": "nope"}', "PostModelOutputsRequest"),
        (b'{"inputs": [{"data": {"text": {"raw": 5}}}]}', "PostModelOutputsRequest"),
        (b'{"no_such_field": 1}', "no_such_field"),
        (b"\xff\xfe", "not valid UTF-8"),
    ],
)
def test_malformed_rest_requests(
    server: ServerThread, client: V2Client, metadata: Metadata, body: bytes, fragment: str
) -> None:
    response = httpx.post(
        server.rest_url + PREDICT_PATH,
        content=body,
        headers={"Authorization": "Key " + server.pat, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    status = response.json()["status"]
    assert status["code"] == status_code_pb2.CONN_INVALID_REQUEST
    assert fragment in status["details"]
    _still_serving(client, metadata)


def test_rest_prediction_and_unknown_route(server: ServerThread) -> None:
    headers = {"Authorization": "Key " + server.pat}
    ok = httpx.post(
        server.rest_url + PREDICT_PATH,
        json={"inputs": [{"id": "r1", "data": {"text": {"raw": "hello"}}}]},
        headers=headers,
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["status"]["code"] == 10000 and body["outputs"][0]["input"]["id"] == "r1"
    assert len(body["outputs"][0]["data"]["embeddings"][0]["vector"]) == 384
    missing = httpx.get(server.rest_url + "/v2/nothing/here", headers=headers)
    assert missing.status_code == 400 and "No API route" in missing.json()["status"]["details"]
    unimplemented = httpx.get(
        server.rest_url + "/v2/users/clarion/apps/main/workflows", headers=headers
    )
    assert unimplemented.status_code == 501
    assert unimplemented.json()["status"]["code"] == status_code_pb2.NOT_IMPLEMENTED
