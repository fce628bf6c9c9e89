"""Fixtures shared by every test layer: settings in a temporary home, a running server."""

from __future__ import annotations

import functools
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import grpc
from clarifai_grpc.grpc.api.status import status_pb2

from clarion.client.channel import V2Client
from clarion.config import Settings
from clarion.server_thread import ServerThread

#: Hosts the test server may fetch from: the local file server below is reached as
#: "localhost", so URLs naming 127.0.0.1 still exercise the SSRF refusal.
ALLOWED_FETCH_HOST = "localhost"


#: gRPC call metadata, as the ``metadata`` fixture gives it: the key in an authorization pair.
Metadata = tuple[tuple[str, str], ...]


class V2Response(Protocol):
    """Any ``clarifai.api.V2`` response message: every one carries a status."""

    @property
    def status(self) -> status_pb2.Status: ...


#: Where `clarion models prepare` put the ONNX exports (scripts/test sets it).
MODELS_DIR = Path(os.environ.get("CLARION_MODELS_DIR", Path.home() / ".clarion" / "models"))


def make_settings(home: Path, **overrides: object) -> Settings:
    base: dict[str, object] = {
        "models_path": MODELS_DIR,
        "grpc_port": 0,
        "rest_port": 0,
        "shutdown_grace_s": 5.0,
        "fetch_allow_hosts": frozenset({ALLOWED_FETCH_HOST}),
        "fetch_timeout_s": 2.0,
        "fetch_max_bytes": 2 * 1024 * 1024,
    }
    base.update(overrides)
    return Settings.from_env({"CLARION_HOME": str(home)}, **base)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "home")


@pytest.fixture
def client(server: ServerThread) -> Iterator[V2Client]:
    """A gRPC client of the session server (clarifai.api.V2 methods by name)."""
    with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
        yield V2Client(channel)


@pytest.fixture
def metadata(server: ServerThread) -> Metadata:
    """The session server's key as gRPC metadata."""
    return (("authorization", "Key " + server.pat),)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """One server for the session, with the real built-in models."""
    home = tmp_path_factory.mktemp("server-home")
    with ServerThread(make_settings(home)) as running:
        yield running


#: How long /slow makes a client wait: longer than the test server's fetch timeout.
SLOW_SECONDS = 5.0


class _TestFilesHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, plus /redirect?to=URL (302) and /slow (answers after SLOW_SECONDS)."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.end_headers()
            return
        if parts.path == "/slow":
            time.sleep(SLOW_SECONDS)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A local HTTP server: (base URL via the allowed host name, directory it serves)."""
    root = tmp_path_factory.mktemp("files")

    handler = functools.partial(_TestFilesHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{ALLOWED_FETCH_HOST}:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
