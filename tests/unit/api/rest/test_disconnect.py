"""The disconnect middleware on its own, with a fake ASGI connection."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Message

from clarion.api.rest.disconnect import CancelOnDisconnect

SCOPE: dict[str, Any] = {"type": "http", "method": "POST", "path": "/"}


class Connection:
    """A client that sends a body, then (optionally) goes away ``leave_after`` s later."""

    def __init__(self, leave_after: float | None) -> None:
        self.leave_after = leave_after
        self.sent: list[Message] = []
        self._body_given = False

    async def receive(self) -> dict[str, Any]:
        if not self._body_given:
            self._body_given = True
            return {"type": "http.request", "body": b"{}", "more_body": False}
        if self.leave_after is None:
            await asyncio.Event().wait()
        await asyncio.sleep(self.leave_after or 0)
        return {"type": "http.disconnect"}

    async def send(self, message: Message) -> None:
        self.sent.append(message)


async def _read_body(receive: Any) -> None:
    message = await receive()
    assert message["type"] == "http.request"


def test_a_client_that_leaves_cancels_the_handler() -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _read_body(receive)
        try:
            await asyncio.sleep(30)  # a long generation
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    connection = Connection(leave_after=0.05)
    asyncio.run(
        asyncio.wait_for(CancelOnDisconnect(app)(SCOPE, connection.receive, connection.send), 10)
    )
    assert events == ["cancelled"] and connection.sent == []


def test_work_after_the_whole_answer_is_not_cancelled() -> None:
    events: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _read_body(receive)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})
        await asyncio.sleep(0.2)  # the client has its answer and hangs up meanwhile
        events.append("finished")

    connection = Connection(leave_after=0.02)
    asyncio.run(CancelOnDisconnect(app)(SCOPE, connection.receive, connection.send))
    assert events == ["finished"]


def test_a_client_that_stays_gets_its_answer() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _read_body(receive)
        await asyncio.sleep(0.05)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok", "more_body": False})

    connection = Connection(leave_after=None)
    asyncio.run(
        asyncio.wait_for(CancelOnDisconnect(app)(SCOPE, connection.receive, connection.send), 10)
    )
    assert [m["type"] for m in connection.sent] == ["http.response.start", "http.response.body"]


def test_the_server_stopping_still_cancels_the_request() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await _read_body(receive)
        await asyncio.sleep(30)

    async def scenario() -> bool:
        connection = Connection(leave_after=None)
        task = asyncio.ensure_future(
            CancelOnDisconnect(app)(SCOPE, connection.receive, connection.send)
        )
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(scenario())
