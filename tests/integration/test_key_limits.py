"""Fair sharing between keys on a real server: a key over its request rate or its share
of concurrent generations answers 11005 (gRPC, REST) or 429 (/v1), with a retry hint, and
other keys are served meanwhile."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import grpc
import httpx
import openai
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2

from clarion.auth import KeyManager
from clarion.client.channel import V2Client
from clarion.registry import Registry
from clarion.server_thread import ServerThread
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

LLM = "smollm2-135m-instruct"
BURST = 4


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Path]]:
    home = tmp_path_factory.mktemp("limited")
    settings = make_settings(home, key_rate=0.5, key_burst=BURST, key_max_generations=1)
    with ServerThread(settings) as server:
        yield server, home


def _key(home: Path, user: str) -> str:
    registry = Registry.open(make_settings(home).resolved_database_url)
    try:
        return KeyManager(registry).create(user)
    finally:
        registry.close()


Answer = TypeVar("Answer")


def _until_throttled(
    send: Callable[[], tuple[Answer, bool]], limit: int = BURST + 3
) -> tuple[int, Answer]:
    """Send until the first throttled answer; (how many were sent, that answer)."""
    for sent in range(1, limit + 1):
        answer, throttled = send()
        if throttled:
            return sent, answer
    raise AssertionError(f"not throttled after {limit} requests")


def test_grpc_rate_limit(limited: tuple[ServerThread, Path]) -> None:
    server, home = limited
    pat, other = _key(home, "grpc-a"), _key(home, "grpc-b")
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        get_user = channel.unary_unary(
            "/clarifai.api.V2/GetUser",
            request_serializer=service_pb2.GetUserRequest.SerializeToString,
            response_deserializer=service_pb2.SingleUserResponse.FromString,
        )
        request = service_pb2.GetUserRequest(user_app_id=resources_pb2.UserAppIDSet(user_id="me"))

        def send() -> tuple[tuple[service_pb2.SingleUserResponse, grpc.Call], bool]:
            response, call = get_user.with_call(
                request, metadata=(("authorization", f"Key {pat}"),)
            )
            return (response, call), response.status.code == 11005

        sent, (response, call) = _until_throttled(send)
        assert sent == BURST + 1
        assert response.status.time_remaining >= 1
        assert "CLARION_KEY_RATE" in response.status.details
        assert dict(call.trailing_metadata())["retry-after"] == str(response.status.time_remaining)
        ok = V2Client(channel).GetUser(request, metadata=(("authorization", f"Key {other}"),))
        assert ok.status.code == 10000 and ok.user.id == "grpc-b"


def test_rest_and_openai_rate_limits(limited: tuple[ServerThread, Path]) -> None:
    server, home = limited
    pat, other = _key(home, "rest-a"), _key(home, "rest-b")

    def rest() -> tuple[httpx.Response, bool]:
        response = httpx.get(
            server.rest_url + "/v2/users/me", headers={"Authorization": f"Key {pat}"}
        )
        return response, response.status_code == 429

    _, throttled = _until_throttled(rest)
    assert isinstance(throttled, httpx.Response)
    assert throttled.json()["status"]["code"] == 11005
    assert int(throttled.headers["retry-after"]) >= 1

    def v1() -> tuple[httpx.Response, bool]:
        response = httpx.get(
            server.rest_url + "/v1/models", headers={"Authorization": f"Bearer {pat}"}
        )
        return response, response.status_code == 429

    sent, throttled = _until_throttled(v1)
    assert sent == 1  # the same key's bucket is shared by every API
    assert isinstance(throttled, httpx.Response)
    assert throttled.json()["error"]["type"] == "rate_limit_error"
    assert throttled.json()["error"]["code"] == "conn_throttled"
    assert int(throttled.headers["retry-after-ms"]) > 0
    ok = httpx.get(server.rest_url + "/v1/models", headers={"Authorization": f"Bearer {other}"})
    assert ok.status_code == 200


def test_concurrent_generation_cap(limited: tuple[ServerThread, Path]) -> None:
    server, home = limited
    busy, other = _key(home, "gen-a"), _key(home, "gen-b")
    chat = {
        "model": LLM,
        "messages": [{"role": "user", "content": "Tell me a long story about a lighthouse."}],
        "max_tokens": 400,
        "stream": True,
    }
    with (
        httpx.Client(base_url=server.rest_url, timeout=120) as http,
        http.stream(
            "POST", "/v1/chat/completions", json=chat, headers={"Authorization": f"Bearer {busy}"}
        ) as stream,
    ):
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))
        # The key's one generation is running: a second one is refused on every API.
        refused = openai.OpenAI(base_url=f"{server.rest_url}/v1", api_key=busy, max_retries=0)
        with pytest.raises(openai.RateLimitError) as caught:
            refused.completions.create(model=LLM, prompt="Hi", max_tokens=2)
        assert "CLARION_KEY_MAX_GENERATIONS" in str(caught.value)
        with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
            request = service_pb2.PostModelOutputsRequest(
                model_id=LLM,
                inputs=[
                    resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw="Hi")))
                ],
            )
            response = V2Client(channel).PostModelOutputs(
                request, metadata=(("authorization", f"Key {busy}"),)
            )
            assert response.status.code == 11005 and response.status.time_remaining == 1
        generate = http.post(
            "/v2/users/clarion/apps/main/models/smollm2-135m-instruct/outputs/generate",
            json={"inputs": [{"data": {"text": {"raw": "Hi"}}}]},
            headers={"Authorization": f"Key {busy}"},
        )
        assert generate.status_code == 429 and generate.headers["retry-after"] == "1"
        assert generate.json()["status"]["code"] == 11005
        # Another key is served meanwhile.
        served = openai.OpenAI(base_url=f"{server.rest_url}/v1", api_key=other, max_retries=0)
        answer = served.completions.create(model=LLM, prompt="Hello", max_tokens=2)
        assert answer.choices[0].text is not None
    # The stream's client went away: its share comes back (polled, at most 20 tries; a try
    # may also meet the key's request rate, which refills one request every 2 s).
    again = openai.OpenAI(base_url=f"{server.rest_url}/v1", api_key=busy, max_retries=0)
    for _ in range(20):
        try:
            again.completions.create(model=LLM, prompt="Hello", max_tokens=2)
            break
        except openai.RateLimitError:
            time.sleep(0.5)
    else:
        raise AssertionError("the key's generation share was not given back")
