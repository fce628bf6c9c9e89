"""Stops the work of an HTTP request whose client has gone away.

ASGI servers do not cancel an application when its client disconnects; they only answer
``http.disconnect`` to the next ``receive()``. This middleware runs each HTTP request as a
task and, once the application has read the whole body, keeps listening on the connection
itself: a disconnect cancels the task, so a unary prediction or generation is cancelled the
same way a gRPC call is (the runtime then drops its queued inputs and stops its generation).

    app = CancelOnDisconnect(starlette_app)
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class CancelOnDisconnect:
    """Cancels an HTTP request's handler when its client disconnects."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        body_read = asyncio.Event()
        disconnected = asyncio.Event()

        async def app_receive() -> Message:
            if disconnected.is_set():
                return {"type": "http.disconnect"}
            if body_read.is_set():  # e.g. a streaming response waiting for the disconnect
                await disconnected.wait()
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected.set()
            elif not message.get("more_body", False):
                body_read.set()
            return message

        responded = asyncio.Event()

        async def app_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                responded.set()  # work after the answer (if any) is not the client's to stop

        handler = asyncio.ensure_future(self._app(scope, app_receive, app_send))
        watcher = asyncio.ensure_future(
            _watch(receive, body_read, responded, disconnected, handler)
        )
        try:
            await handler
        except asyncio.CancelledError:
            stopped_by_client = watcher.done() and not watcher.cancelled() and watcher.result()
            if not stopped_by_client:
                raise  # the server itself is stopping
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _watch(
    receive: Receive,
    body_read: asyncio.Event,
    responded: asyncio.Event,
    disconnected: asyncio.Event,
    handler: asyncio.Future[Any],
) -> bool:
    """After the body is read, the next message on the connection can only be a disconnect;
    it cancels the handler unless the whole answer has been sent already. True when it
    cancelled the handler."""
    await body_read.wait()
    while not handler.done():
        message = await receive()
        if message["type"] == "http.disconnect":
            disconnected.set()
            if responded.is_set():
                return False
            handler.cancel()
            return True
    return False
