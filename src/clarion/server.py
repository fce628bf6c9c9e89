"""The Clarion server: gRPC and REST on their own ports, in one asyncio process.

server = ClarionServer(Core.open(settings))
await server.start()          # binds; ports of 0 pick free ones
...                           # server.grpc_port, server.rest_port
await server.stop()           # drains in-flight requests, then closes
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator

import grpc
import uvicorn
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from clarion.api.grpc.service import V2Service
from clarion.api.openai.routes import OpenAIApi
from clarion.api.rest.disconnect import CancelOnDisconnect
from clarion.api.rest.gateway import RestGateway, build_rest_app
from clarion.api.rest.playground import Playground
from clarion.core import Core
from clarion.home_lock import HomeLock

log = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this: without it small responses wait for delayed ACKs.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


class _EmbeddedUvicorn(uvicorn.Server):
    """Uvicorn without its own signal handlers: ``clarion serve`` owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class ClarionServer:
    """Owns the gRPC server and the REST server of one process."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.grpc_port = 0
        self.rest_port = 0
        self._grpc: grpc.aio.Server | None = None
        self._health = HealthServicer()
        self._rest: _EmbeddedUvicorn | None = None
        self._rest_task: asyncio.Task[None] | None = None
        self._preload: asyncio.Task[list[str]] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None
        self._home_lock = HomeLock(core.settings.home)

    @property
    def scheme(self) -> str:
        return "https" if self.core.settings.tls_enabled else "http"

    async def start(self) -> None:
        settings = self.core.settings
        self._home_lock.acquire()  # HomeInUse when another server serves from this home
        self.core.recover()
        self._heartbeat = asyncio.create_task(self.core.front_end.run())
        self._watch = asyncio.create_task(self.core.changes.run())
        self._grpc = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", settings.max_receive_bytes),
                ("grpc.max_send_message_length", settings.max_receive_bytes),
            ]
        )
        self._grpc.add_generic_rpc_handlers(
            [V2Service(self.core.handlers, self.core.admission).generic_handler()]
        )
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._grpc)
        address = f"{settings.host}:{settings.grpc_port}"
        if settings.tls_enabled:
            assert settings.tls_cert is not None and settings.tls_key is not None
            credentials = grpc.ssl_server_credentials(
                [(settings.tls_key.read_bytes(), settings.tls_cert.read_bytes())]
            )
            self.grpc_port = self._grpc.add_secure_port(address, credentials)
        else:
            self.grpc_port = self._grpc.add_insecure_port(address)
        await self._grpc.start()
        await self._health.set("", health_pb2.HealthCheckResponse.SERVING)
        await self._health.set("clarifai.api.V2", health_pb2.HealthCheckResponse.SERVING)

        sock = _bind(settings.host, settings.rest_port)
        self.rest_port = sock.getsockname()[1]
        gateway = RestGateway(self.core.handlers, settings.max_receive_bytes)
        openai = OpenAIApi(self.core.directory, self.core.predictor, settings.max_receive_bytes)
        playground = Playground(self.grpc_port, settings.tls_enabled)
        app = build_rest_app(
            gateway,
            self.readiness,
            self.core.metrics.render,
            self.core.admission,
            self.core.backend.served,
            open_routes=playground.routes(),
            reconciling=self.core.reconciling,
            keyed=[openai.keyed_routes()],
        )
        config = uvicorn.Config(
            CancelOnDisconnect(app),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ssl_certfile=str(settings.tls_cert) if settings.tls_enabled else None,
            ssl_keyfile=str(settings.tls_key) if settings.tls_enabled else None,
            timeout_graceful_shutdown=int(settings.shutdown_grace_s),
        )
        self._rest = _EmbeddedUvicorn(config)
        self._rest_task = asyncio.create_task(self._rest.serve(sockets=[sock]))
        while not self._rest.started:
            if self._rest_task.done():
                self._rest_task.result()
                raise RuntimeError("the REST server stopped during start-up")
            await asyncio.sleep(0.01)
        log.info("serving gRPC on %s and REST on %s", self.grpc_port, self.rest_port)
        self._preload = asyncio.create_task(self.core.preload())

    def readiness(self) -> dict[str, bool]:
        """Ready when the registry answers and every preloaded model has loaded."""
        preload = self._preload
        preloaded = preload is not None and preload.done() and preload.exception() is None
        return {"registry": self.core.registry_ok(), "preloaded_models": preloaded}

    async def wait_ready(self) -> None:
        if self._preload is not None:
            await self._preload

    async def stop(self) -> None:
        """Stop taking new requests, let in-flight ones finish (up to the grace), then close."""
        grace = self.core.settings.shutdown_grace_s
        await self._health.enter_graceful_shutdown()
        if self._rest is not None:
            self._rest.should_exit = True
        if self._grpc is not None:
            await self._grpc.stop(grace)
        if self._rest_task is not None:
            await self._rest_task
        if self._preload is not None and not self._preload.done():
            self._preload.cancel()
        await self.core.trainer.wait_idle()  # its trainings still beat while they finish
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        if self._watch is not None:
            self._watch.cancel()
        await self.core.aclose()
        self._home_lock.release()
