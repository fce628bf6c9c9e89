"""The REST port's app: which routes need a key, and each API's refusal, byte for byte."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from clarion.api.openai.routes import OpenAIApi
from clarion.api.rest.gateway import RestGateway, build_rest_app
from clarion.api.rest.playground import Playground
from clarion.core import Core

MISSING = (
    "The 'authorization' header is missing: send gRPC metadata 'authorization: Key <PAT>' "
    "or the HTTP header 'Authorization: Key <PAT>'."
)
UNKNOWN = "The API key is not known to this server."
NO_KEY: dict[str, str] = {}
WRONG_KEY = {"Authorization": "Key " + "0" * 32}


def _client(core: Core, limit: int) -> TestClient:
    openai = OpenAIApi(core.directory, core.predictor, limit)
    app = build_rest_app(
        RestGateway(core.handlers, limit),
        lambda: {"registry": True},
        core.metrics.render,
        core.admission,
        core.backend.served,
        open_routes=Playground(grpc_port=1, tls=False).routes(),
        keyed=[openai.keyed_routes()],
        reconciling=core.reconciling,
    )
    return TestClient(app)


@pytest.fixture(scope="module")
def client(core: Core) -> TestClient:
    return _client(core, core.settings.max_receive_bytes)


def _clarifai(code: int, description: str, details: str) -> bytes:
    return (
        f'{{"status":{{"code":{code},"description":"{description}","details":"{details}"}}}}'
    ).encode()


def _openai(message: str, code: str) -> bytes:
    return (
        f'{{"error":{{"message":"{message}","type":"authentication_error","param":null,'
        f'"code":"{code}"}}}}'
    ).encode()


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/", "/playground", "/playground/config.json"]
)
def test_health_checks_and_the_playground_need_no_key(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/v2/users/me", "/v2/models/m/outputs", "/metrics"])
@pytest.mark.parametrize(
    "headers, body",
    [
        (NO_KEY, _clarifai(11102, "Missing API key", MISSING)),
        (WRONG_KEY, _clarifai(11009, "API key not found", UNKNOWN)),
    ],
)
def test_clarifai_routes_and_metrics_refuse_with_a_clarifai_status(
    client: TestClient, path: str, headers: dict[str, str], body: bytes
) -> None:
    method = "POST" if path.endswith("/outputs") else "GET"
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.content == body


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/completions"),
        ("POST", "/v1/embeddings"),
        ("GET", "/openapi.json"),
    ],
)
@pytest.mark.parametrize(
    "headers, body",
    [
        (NO_KEY, _openai(MISSING, "conn_invalid_request")),
        (WRONG_KEY, _openai(UNKNOWN, "conn_key_not_found")),
    ],
)
def test_openai_routes_refuse_with_an_openai_error(
    client: TestClient, method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    response = client.request(method, path, headers=headers)
    assert response.status_code == 401
    assert response.content == body


def test_paths_no_api_serves_answer_without_a_key(client: TestClient) -> None:
    for method, path in [("GET", "/v2/nothing/here"), ("GET", "/v1/chat/completions")]:
        response = client.request(method, path)
        assert response.status_code == 400
        assert response.json()["status"]["details"] == f"No API route for {method} {path}."


def test_a_good_key_reaches_each_api(client: TestClient, pat: str) -> None:
    headers = {"Authorization": f"Key {pat}"}
    user = client.get("/v2/users/me", headers=headers).json()
    assert user["status"]["code"] == 10000 and user["user"]["id"] == "alice"
    assert client.get("/metrics", headers=headers).status_code == 200
    models = client.get("/v1/models", headers={"Authorization": f"Bearer {pat}"}).json()
    assert models["object"] == "list"


def test_an_rpc_clarion_lacks_answers_501_once_key_and_body_pass(
    client: TestClient, pat: str
) -> None:
    path = "/v2/users/clarion/apps/main/workflows"
    headers = {"Authorization": f"Key {pat}"}
    assert client.get(path).status_code == 401
    bad_body = client.post(path, content=b"{", headers=headers)
    assert bad_body.status_code == 400 and "not valid JSON" in bad_body.text
    response = client.get(path, headers=headers)
    assert response.status_code == 501
    assert response.content == _clarifai(
        10040, "Not implemented", "ListWorkflows is not implemented by Clarion."
    )


def test_both_apis_read_bodies_through_the_one_reader_and_limit(core: Core, pat: str) -> None:
    client = _client(core, limit=64)
    body = b'{"model": "m", "input": "' + b"x" * 64 + b'"}'
    headers = {"Authorization": f"Key {pat}", "Content-Type": "application/json"}
    expected = f"The request body is {len(body)} bytes; the limit is 64 bytes."
    clarifai = client.post("/v2/models/m/outputs", content=body, headers=headers)
    assert clarifai.status_code == 400 and clarifai.json()["status"]["details"] == expected
    openai = client.post("/v1/embeddings", content=body, headers=headers)
    assert openai.status_code == 400 and openai.json()["error"]["message"] == expected


def test_readyz_with_a_key_lists_the_served_versions_and_a_wrong_key_is_refused(
    client: TestClient, pat: str
) -> None:
    assert "models" not in client.get("/readyz").json()
    answer = client.get("/readyz", headers={"Authorization": f"Key {pat}"})
    assert answer.status_code == 200
    assert answer.json()["models"] == []  # nothing loaded in this core
    assert answer.json()["reconciler"] == {
        "instance_id": "", "host": "", "this_front_end": False,
        "detail": "none: one process, no Ray cluster",
    }  # fmt: skip
    assert "reconciler" not in client.get("/readyz").json()
    refused = client.get("/readyz", headers=WRONG_KEY)
    assert refused.status_code == 401
    assert refused.content == _clarifai(11009, "API key not found", UNKNOWN)
