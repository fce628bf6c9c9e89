"""Every registered RPC and REST route refuses a call without a valid key; health needs none."""

from __future__ import annotations

import re

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clarion.api.rest.routes import build_routes
from clarion.errors import StatusCode
from clarion.rpcs import RPCS, SERVICE_NAME
from clarion.server_thread import ServerThread
from tests.conftest import Metadata, V2Response

pytestmark = pytest.mark.slow


def _call(channel: grpc.Channel, name: str, metadata: Metadata) -> V2Response:
    rpc = RPCS[name]
    path = f"/{SERVICE_NAME}/{name}"
    kwargs = {
        "request_serializer": rpc.request_class.SerializeToString,
        "response_deserializer": rpc.response_class.FromString,
    }
    request = rpc.request_class()
    response: V2Response
    if rpc.client_streaming and rpc.server_streaming:
        call = channel.stream_stream(path, **kwargs)
        response = next(iter(call(iter([request]), metadata=metadata)))
    elif rpc.client_streaming:
        response = channel.stream_unary(path, **kwargs)(iter([request]), metadata=metadata)
    elif rpc.server_streaming:
        response = next(iter(channel.unary_stream(path, **kwargs)(request, metadata=metadata)))
    else:
        response = channel.unary_unary(path, **kwargs)(request, metadata=metadata)
    return response


@pytest.mark.parametrize(
    "metadata, code",
    [
        ((), StatusCode.CONN_INVALID_REQUEST),
        ((("authorization", "Key " + "0" * 32),), StatusCode.CONN_KEY_NOT_FOUND),
    ],
)
def test_every_rpc_needs_a_key(server: ServerThread, metadata: Metadata, code: StatusCode) -> None:
    assert len(RPCS) > 200
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        for name in RPCS:
            response = _call(channel, name, metadata)
            assert response.status.code == code, name


def test_every_rest_route_needs_a_key(server: ServerThread) -> None:
    routes = [r for verb in build_routes().values() for r in verb]
    assert len(routes) > 400
    with httpx.Client(base_url=server.rest_url) as client:
        for route in routes:
            path = re.sub(r"\{[^}]*\}", "x", route.template)
            response = client.request(route.verb, path)
            assert response.status_code == 401, (route.verb, path)
            assert response.json()["status"]["code"] == StatusCode.CONN_INVALID_REQUEST, path
            assert "authorization" in response.json()["status"]["details"]


def test_health_checks_need_no_key(server: ServerThread) -> None:
    assert httpx.get(f"{server.rest_url}/healthz").json() == {"status": "ok"}
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
