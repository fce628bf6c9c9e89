"""The V2 servicer: the key first, then one not-implemented check ending the call with the
gRPC code the error table gives."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from clarifai_grpc.grpc.api import service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2

from clarion import errors
from clarion.api.grpc.service import V2Service
from clarion.core import Core
from clarion.errors import StatusCode, WireStatus
from clarion.rpcs import SERVICE_NAME


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(code, details)
        self.code = code
        self.details = details


class Context:
    """What the servicer reads and writes of a ``grpc.aio.ServicerContext``."""

    def __init__(self, authorization: str | None) -> None:
        self._metadata = (("authorization", authorization),) if authorization else ()
        self.written: list[Any] = []

    async def write(self, message: Any) -> None:
        self.written.append(message)

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def time_remaining(self) -> float | None:
        return None

    def set_trailing_metadata(self, _metadata: object) -> None:
        pass

    async def abort(self, code: grpc.StatusCode, details: str = "") -> None:
        raise Aborted(code, details)


@dataclass(frozen=True)
class CallDetails:
    """What grpcio hands a generic handler to pick a method by."""

    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


def _handler(core: Core, name: str) -> Any:
    generic = V2Service(core.handlers, core.admission).generic_handler()
    return generic.service(CallDetails(f"/{SERVICE_NAME}/{name}"))


def _unary(core: Core, name: str, request: Any, authorization: str | None) -> Any:
    behavior = _handler(core, name).unary_unary
    return asyncio.run(behavior(request, Context(authorization)))


def _first_of_stream(core: Core, name: str, authorization: str | None) -> Any:
    async def first() -> Any:
        async def requests() -> AsyncIterator[Any]:
            yield service_pb2.PostModelOutputsRequest()

        context = Context(authorization)
        await _handler(core, name).stream_stream(requests(), context)  # writes its answers
        return context.written[0]

    return asyncio.run(first())


@pytest.fixture
def key(pat: str) -> str:
    return f"Key {pat}"


def test_a_good_key_is_served(core: Core, key: str) -> None:
    response = _unary(core, "GetUser", service_pb2.GetUserRequest(), key)
    assert response.status.code == status_code_pb2.SUCCESS and response.user.id == "alice"


def test_the_key_is_checked_before_an_rpc_clarion_lacks(core: Core) -> None:
    response = _unary(core, "ListWorkflows", service_pb2.ListWorkflowsRequest(), None)
    assert response.status.code == status_code_pb2.CONN_INVALID_REQUEST


def test_an_rpc_clarion_lacks_ends_unimplemented(core: Core, key: str) -> None:
    with pytest.raises(Aborted) as info:
        _unary(core, "ListWorkflows", service_pb2.ListWorkflowsRequest(), key)
    assert info.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert info.value.details == "ListWorkflows is not implemented by Clarion."


def test_a_client_stream_ends_unimplemented(core: Core, key: str) -> None:
    with pytest.raises(Aborted) as info:
        _first_of_stream(core, "StreamModelOutputs", key)
    assert info.value.code == grpc.StatusCode.UNIMPLEMENTED
    assert info.value.details == "StreamModelOutputs is not implemented by Clarion."


def test_the_code_comes_from_the_error_table(
    core: Core, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved = WireStatus(501, "UNAVAILABLE")
    monkeypatch.setitem(errors.WIRE_STATUS, StatusCode.NOT_IMPLEMENTED, moved)
    with pytest.raises(Aborted) as info:
        _unary(core, "ListWorkflows", service_pb2.ListWorkflowsRequest(), key)
    assert info.value.code == grpc.StatusCode.UNAVAILABLE
