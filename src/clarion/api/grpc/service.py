"""The ``clarifai.api.V2`` gRPC service: every RPC authenticated, implemented ones dispatched.

Handlers are built from clarifai-grpc's descriptors (the same messages its generated
``V2Servicer`` uses) rather than by subclassing it, for one reason: the request
deserializer must not fail inside grpcio. A request that is not a valid message (e.g. text
that is not UTF-8) gets a Clarifai status naming the problem instead of a bare INTERNAL.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing
from typing import Any

import grpc
from google.protobuf.message import DecodeError, Message

from clarion.api.clarifai import convert
from clarion.api.clarifai.handlers import ClarifaiHandlers
from clarion.auth import Principal
from clarion.errors import (
    AuthError,
    InvalidRequest,
    NotImplementedFeature,
    StatusCode,
    Throttled,
)
from clarion.limits import Admission
from clarion.rpcs import RPCS, SERVICE_NAME, Rpc


class UndecodableRequest:
    """Stands in for a request whose bytes did not parse."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _deserializer(rpc: Rpc) -> Callable[[bytes], Any]:
    def deserialize(data: bytes) -> Any:
        try:
            return rpc.request_class.FromString(data)
        except (DecodeError, ValueError) as exc:
            return UndecodableRequest(str(exc) or type(exc).__name__)

    return deserialize


def _authorization(context: grpc.aio.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata() or ():
        if key.lower() == "authorization":
            return str(value)
    return None


def _with_retry_hint(response: Message, context: grpc.aio.ServicerContext) -> Message:
    """A throttled answer also says when to retry in ``retry-after`` trailing metadata."""
    status = getattr(response, "status", None)
    if status is not None and status.code == StatusCode.CONN_THROTTLED:
        context.set_trailing_metadata((("retry-after", str(max(1, status.time_remaining))),))
    return response


class V2Service:
    """Builds one grpcio method handler per V2 RPC."""

    def __init__(self, handlers: ClarifaiHandlers, admission: Admission) -> None:
        self._handlers = handlers
        self._admission = admission

    async def _admit(
        self, rpc: Rpc, request: Any, context: grpc.aio.ServicerContext
    ) -> Principal | Message:
        """The caller, or the response that refuses the call.

        A call Clarion has no handler for ends with the gRPC code the error table gives
        :class:`NotImplementedFeature` (UNIMPLEMENTED), once its key has been checked.
        """
        try:
            principal = self._admission.authenticate(_authorization(context))
            if isinstance(request, UndecodableRequest):
                raise InvalidRequest(
                    f"The {rpc.request_class.DESCRIPTOR.name} could not be decoded: "
                    f"{request.reason} (text fields must be valid UTF-8)."
                )
        except (AuthError, InvalidRequest, Throttled) as exc:
            return rpc.response_class(status=convert.error_status(exc))
        try:
            self._handlers.implementation(rpc.name)
        except NotImplementedFeature as exc:
            await context.abort(exc.wire.grpc, exc.details)  # the error table's gRPC code
        return principal

    def _unary(self, rpc: Rpc) -> Callable[..., Any]:
        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Message:
            admitted = await self._admit(rpc, request, context)
            if isinstance(admitted, Message):
                return _with_retry_hint(admitted, context)
            timeout_s = context.time_remaining()
            response = await self._handlers.call(rpc.name, request, admitted, timeout_s)
            return _with_retry_hint(response, context)

        return behavior

    def _streaming(self, rpc: Rpc) -> Callable[..., Any]:
        """A streaming handler that writes each response itself (grpcio's writer API).

        The responses are read under ``aclosing``: when the client cancels, the
        cancellation reaches this coroutine wherever it waits (for the next response or
        for a write), and the streams below are closed in that same step, freeing what
        they hold (e.g. the model's place for a generation) at once. A generator handed to
        grpcio would be left open when the cancellation lands in grpcio's own write, until
        its finalizer closes it in a task of its own, later.
        """

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> None:
            first = request if not rpc.client_streaming else None
            admitted = await self._admit(rpc, first, context)
            if isinstance(admitted, Message):
                await context.write(_with_retry_hint(admitted, context))
                return
            async with aclosing(self._handlers.stream(rpc.name, request, admitted)) as responses:
                async for response in responses:
                    await context.write(_with_retry_hint(response, context))

        return behavior

    def generic_handler(self) -> grpc.GenericRpcHandler:
        handlers = {}
        for rpc in RPCS.values():
            kwargs = {
                "request_deserializer": _deserializer(rpc),
                "response_serializer": rpc.response_class.SerializeToString,
            }
            if rpc.client_streaming and rpc.server_streaming:
                handler = grpc.stream_stream_rpc_method_handler(self._streaming(rpc), **kwargs)
            elif rpc.client_streaming:
                handler = grpc.stream_unary_rpc_method_handler(self._unary(rpc), **kwargs)
            elif rpc.server_streaming:
                handler = grpc.unary_stream_rpc_method_handler(self._streaming(rpc), **kwargs)
            else:
                handler = grpc.unary_unary_rpc_method_handler(self._unary(rpc), **kwargs)
            handlers[rpc.name] = handler
        return grpc.method_handlers_generic_handler(SERVICE_NAME, handlers)
