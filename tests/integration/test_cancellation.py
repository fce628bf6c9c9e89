"""A unary generation whose client goes away stops at once, on every API.

The prompt makes smollm2 count on and on (greedy, raw prompt), so uncancelled it would run to
``max_tokens``. Each test lets a few tokens come out, then the client cancels, passes its
deadline or drops the connection; the engine's own token counter must stop right after, and
the next request must find the slot free (the server admits one generating input at once).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2

from clarion.client.channel import V2Client
from clarion.runners import LlmRunner
from clarion.runtime import LocalBackend
from clarion.server_thread import ServerThread
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

MODEL_ID = "smollm2-135m-instruct"
USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
COUNTING = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,"
MAX_TOKENS = 2000
#: Tokens the engine may still produce between the disconnect and its noticing it.
SLACK = 24


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    settings = make_settings(tmp_path_factory.mktemp("cancel"), llm_queue_size=1)
    with ServerThread(settings) as running:
        yield running


def _metadata(server: ServerThread) -> tuple[tuple[str, str], ...]:
    return (("authorization", "Key " + server.pat),)


def _request(max_tokens: int, prompt: str = COUNTING) -> service_pb2.PostModelOutputsRequest:
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP,
        model_id=MODEL_ID,
        inputs=[resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw=prompt)))],
    )
    request.model.model_version.output_info.params.update(
        {"max_tokens": max_tokens, "do_sample": False, "prompt_template": "{prompt}"}
    )
    return request


def _engine(server: ServerThread) -> LlmRunner:
    client = V2Client(grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"))
    warm = client.PostModelOutputs(_request(1, "hi"), metadata=_metadata(server))
    assert warm.status.code == status_code_pb2.SUCCESS, warm.status
    assert server.server is not None
    backend = server.server.core.backend
    assert isinstance(backend, LocalBackend)
    (runner,) = [r for r in backend.loaded_runners() if isinstance(r, LlmRunner)]
    return runner


def _wait_for_tokens(engine: LlmRunner, start: int, count: int) -> None:
    deadline = time.monotonic() + 120
    while engine.engine.generated_tokens - start < count:
        assert time.monotonic() < deadline, "generation never started"
        time.sleep(0.01)


def _settled(engine: LlmRunner) -> int:
    """The counter once it has stopped moving for a second (bounded wait)."""
    last = engine.engine.generated_tokens
    for _ in range(30):
        time.sleep(1.0)
        now = engine.engine.generated_tokens
        if now == last:
            return now
        last = now
    raise AssertionError("the engine kept generating after the client went away")


def _check_stopped(server: ServerThread, engine: LlmRunner, start: int, gone_at: int) -> None:
    final = _settled(engine)
    print(f"{final - gone_at} tokens after the disconnect, {final - start} in all")
    assert final - gone_at <= SLACK, f"{final - gone_at} tokens generated after the disconnect"
    assert final - start < MAX_TOKENS // 2
    client = V2Client(grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}"))
    after = client.PostModelOutputs(_request(2, "hi"), metadata=_metadata(server))
    assert after.status.code == status_code_pb2.SUCCESS, after.status  # the slot is free


def test_grpc_cancel_stops_a_unary_generation(one_slot: ServerThread) -> None:
    engine = _engine(one_slot)
    start = engine.engine.generated_tokens
    with grpc.insecure_channel(f"127.0.0.1:{one_slot.grpc_port}") as channel:
        future = V2Client(channel).PostModelOutputs.future(
            _request(MAX_TOKENS), metadata=_metadata(one_slot)
        )
        _wait_for_tokens(engine, start, 3)
        future.cancel()
        gone_at = engine.engine.generated_tokens
    _check_stopped(one_slot, engine, start, gone_at)


def test_grpc_deadline_stops_a_unary_generation(one_slot: ServerThread) -> None:
    engine = _engine(one_slot)
    start = engine.engine.generated_tokens
    with grpc.insecure_channel(f"127.0.0.1:{one_slot.grpc_port}") as channel:
        client = V2Client(channel)
        with pytest.raises(grpc.RpcError) as info:
            client.PostModelOutputs(_request(MAX_TOKENS), metadata=_metadata(one_slot), timeout=2)
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        gone_at = engine.engine.generated_tokens
    _check_stopped(one_slot, engine, start, gone_at)


def _clarifai_body() -> dict[str, Any]:
    return {
        "inputs": [{"data": {"text": {"raw": COUNTING}}}],
        "model": {
            "model_version": {
                "output_info": {
                    "params": {
                        "max_tokens": MAX_TOKENS,
                        "do_sample": False,
                        "prompt_template": "{prompt}",
                    }
                }
            }
        },
    }


REST_CASES: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "clarifai": (f"/v2/users/clarion/apps/main/models/{MODEL_ID}/outputs", _clarifai_body),
    "openai-completions": (
        "/v1/completions",
        lambda: {"model": MODEL_ID, "prompt": COUNTING, "max_tokens": MAX_TOKENS, "temperature": 0},
    ),
    "openai-chat": (
        "/v1/chat/completions",
        lambda: {
            "model": MODEL_ID,
            "messages": [{"role": "user", "content": "Count from 1 to 100000, comma separated."}],
            "max_tokens": MAX_TOKENS,
            "temperature": 0,
        },
    ),
}


@pytest.mark.parametrize("case", sorted(REST_CASES))
def test_a_rest_client_that_disconnects_stops_its_unary_generation(
    one_slot: ServerThread, case: str
) -> None:
    path, body = REST_CASES[case]
    engine = _engine(one_slot)
    start = engine.engine.generated_tokens
    payload = json.dumps(body()).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Key {one_slot.pat}\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", one_slot.rest_port)) as sock:
        sock.sendall(head + payload)
        _wait_for_tokens(engine, start, 3)
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):  # no answer yet: it is still generating
            sock.recv(1)
    gone_at = engine.engine.generated_tokens
    _check_stopped(one_slot, engine, start, gone_at)


def test_grpc_cancel_stops_a_stream_during_its_reasoning_pass(one_slot: ServerThread) -> None:
    """The reasoning pass emits nothing to the client, so only the stop signal can end it."""
    engine = _engine(one_slot)
    start = engine.engine.generated_tokens
    request = _request(MAX_TOKENS, "Count from 1 to 1000, one number per line, and explain each.")
    params = request.model.model_version.output_info.params
    del params["prompt_template"]  # the model's chat template, as a chat user would send
    params.update({"reasoning_effort": "high"})
    with grpc.insecure_channel(f"127.0.0.1:{one_slot.grpc_port}") as channel:
        call = V2Client(channel).GenerateModelOutputs(request, metadata=_metadata(one_slot))
        _wait_for_tokens(engine, start, 3)
        call.cancel()
        gone_at = engine.engine.generated_tokens
    _check_stopped(one_slot, engine, start, gone_at)
