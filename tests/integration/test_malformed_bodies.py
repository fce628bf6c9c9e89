"""Malformed bodies on every REST route answer 400 naming the problem; a request that
fails only through its inputs answers 4xx; the server keeps serving."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest

from clarion.api.json_body import MAX_DEPTH
from clarion.server_thread import ServerThread
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

EMBED_PATH = "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs"
IMAGE_PATH = "/v2/users/clarion/apps/main/models/general-image-recognition/outputs"

BAD_BODIES = [
    pytest.param(b'{"model": "m", "temperature": NaN}', "'NaN'", id="nan"),
    pytest.param(b'{"model": "m", "temperature": -Infinity}', "'-Infinity'", id="infinity"),
    pytest.param(b'{"model": "m", "temperature": 1e999}', "too large", id="overflow"),
    pytest.param(b'{"model": "m", "seed": 1e300}', "at most", id="absurd"),
    pytest.param(b"[" * 5000 + b"]" * 5000, f"the limit is {MAX_DEPTH}", id="deep-arrays"),
    pytest.param(b'{"a": ' * 200 + b"1" + b"}" * 200, "levels deep", id="deep-objects"),
    pytest.param(b'{"model": "\xc3\x28"}', "not valid UTF-8", id="utf8"),
    pytest.param(b'{"model": ', "not valid JSON", id="truncated"),
]


def _headers(server: ServerThread) -> dict[str, str]:
    return {"Authorization": "Key " + server.pat, "Content-Type": "application/json"}


def _still_serving(server: ServerThread) -> None:
    ok = httpx.post(
        server.rest_url + EMBED_PATH,
        json={"inputs": [{"data": {"text": {"raw": "still here"}}}]},
        headers=_headers(server),
    )
    assert ok.status_code == 200 and ok.json()["status"]["code"] == 10000


@pytest.mark.parametrize("body, fragment", BAD_BODIES)
def test_clarifai_route_refuses_malformed_body(
    server: ServerThread, body: bytes, fragment: str
) -> None:
    response = httpx.post(server.rest_url + EMBED_PATH, content=body, headers=_headers(server))
    assert response.status_code == 400, response.text[:300]
    status = response.json()["status"]
    assert status["code"] == 11102
    assert fragment in status["details"]
    _still_serving(server)


@pytest.mark.parametrize("route", ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"])
@pytest.mark.parametrize("body, fragment", BAD_BODIES)
def test_openai_routes_refuse_malformed_body(
    server: ServerThread, route: str, body: bytes, fragment: str
) -> None:
    response = httpx.post(server.rest_url + route, content=body, headers=_headers(server))
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "conn_invalid_request"
    assert fragment in error["message"]


@pytest.mark.parametrize(
    "body, fragment",
    [
        (b"[]", "must be a JSON object, got a JSON array"),
        (b"", "must be a JSON object, got an empty body"),
        (b'{"model": 5, "input": "x"}', "model"),
        (b'{"model": "all-minilm-l6-v2", "input": {"a": 1}}', "input"),
    ],
)
def test_openai_wrong_types(server: ServerThread, body: bytes, fragment: str) -> None:
    response = httpx.post(
        server.rest_url + "/v1/embeddings", content=body, headers=_headers(server)
    )
    assert response.status_code == 400, response.text[:300]
    assert fragment in response.json()["error"]["message"]


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(tmp_path_factory.mktemp("small-body"), max_receive_bytes=4096)
    with ServerThread(settings) as running:
        yield running


def test_body_limit_is_the_same_on_both_apis(small_server: ServerThread) -> None:
    big = b'{"inputs": "' + b"x" * 5000 + b'"}'

    def chunks() -> Iterator[bytes]:
        yield big[:3000]
        yield big[3000:]

    for route in (EMBED_PATH, "/v1/embeddings"):
        declared = httpx.post(
            small_server.rest_url + route, content=big, headers=_headers(small_server)
        )
        assert declared.status_code == 400
        assert "the limit is 4096 bytes" in declared.text
        streamed = httpx.post(
            small_server.rest_url + route, content=chunks(), headers=_headers(small_server)
        )
        assert streamed.status_code == 400
        assert "over the limit of 4096 bytes" in streamed.text


def test_all_inputs_failing_through_their_own_bytes_is_a_4xx(server: ServerThread) -> None:
    broken = base64.b64encode(b"\x89PNG\r\n\x1a\n not really a png").decode()
    response = httpx.post(
        server.rest_url + IMAGE_PATH,
        json={"inputs": [{"data": {"image": {"base64": broken}}}] * 2},
        headers=_headers(server),
    )
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["status"]["code"] == 10020
    assert {o["status"]["code"] for o in body["outputs"]} == {30101}


def test_refused_urls_are_a_4xx(server: ServerThread) -> None:
    response = httpx.post(
        server.rest_url + EMBED_PATH,
        json={"inputs": [{"data": {"text": {"url": "http://127.0.0.1:9/secret"}}}]},
        headers=_headers(server),
    )
    assert response.status_code == 400, response.text[:300]
    assert response.json()["outputs"][0]["status"]["code"] == 30002


def test_prompts_over_the_context_are_a_4xx(server: ServerThread) -> None:
    long_prompt = "Tell me about lighthouses and the sea. " * 600  # far over 2048 tokens
    response = httpx.post(
        server.rest_url + "/v2/users/clarion/apps/main/models/smollm2-135m-instruct/outputs",
        json={"inputs": [{"data": {"text": {"raw": long_prompt}}}] * 2},
        headers=_headers(server),
        timeout=120,
    )
    assert response.status_code == 400, response.text[:300]
    body = response.json()
    assert body["status"]["code"] == 10020
    assert {o["status"]["code"] for o in body["outputs"]} == {30105}
