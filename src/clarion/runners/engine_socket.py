"""JSON calls to the LLM engine's private Unix socket over kept-alive connections.

A call that needs the rendered prompt (a template, beam search, the full text returned) makes
two of these calls (render the chat template, tokenize) before its first token, so their cost
is time-to-first-token: the standard library's HTTP client is about 1 ms cheaper per call
than a general-purpose one here. Idle connections wait in a pool, one per call at a time
(the client is not thread-safe), so the pool holds at most as many as calls ran at once. A
call that finds its kept-alive connection closed by the engine (it closes idle ones, and
each after a few requests) is sent once more on a fresh one: every call made here only
reads, so sending it twice is harmless.

    socket = EngineSocket("/private/dir/engine.sock", api_key)
    socket.post("/tokenize", {"content": "Hello"})
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
from typing import Any

from clarion.errors import PredictionFailed

#: Seconds one call may take before it fails.
TIMEOUT_S = 60.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("engine", timeout=TIMEOUT_S)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class EngineSocket:
    """POSTs JSON bodies to the engine's socket and returns the JSON replies."""

    def __init__(self, path: str, api_key: str) -> None:
        self._path = path
        self._headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
        self._idle: list[_UnixConnection] = []
        self._lock = threading.Lock()
        self._closed = False

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        payload = json.dumps(body).encode()
        connection = self._take()
        try:
            try:
                status, data = _send(connection, path, payload, self._headers)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                connection.close()  # the engine closed it: once more, on a fresh connection
                status, data = _send(connection, path, payload, self._headers)
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            raise PredictionFailed(f"the LLM engine's {path} failed: {exc}") from exc
        self._give_back(connection)
        if status != 200:
            raise PredictionFailed(f"the LLM engine's {path} answered {status}: {data[:200]!r}")
        result: dict[str, Any] = json.loads(data)
        return result

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _take(self) -> _UnixConnection:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return _UnixConnection(self._path)

    def _give_back(self, connection: _UnixConnection) -> None:
        with self._lock:
            if not self._closed:
                self._idle.append(connection)
                return
        connection.close()


def _send(
    connection: _UnixConnection, path: str, payload: bytes, headers: dict[str, str]
) -> tuple[int, bytes]:
    connection.request("POST", path, payload, headers)
    response = connection.getresponse()
    return response.status, response.read()
