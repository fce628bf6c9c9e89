"""Running a Clarion server on a background thread (tests, benchmarks, notebooks).

with ServerThread(Settings.from_env(grpc_port=0, rest_port=0)) as running:
    Model(..., base_url=running.grpc_url, pat=running.pat).predict_by_bytes(b"hi", "text")
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from clarion.config import Settings
from clarion.core import Core
from clarion.server import ClarionServer


class ServerThread:
    """A :class:`ClarionServer` with its own event loop on a daemon thread."""

    def __init__(self, settings: Settings, start_timeout_s: float = 60.0) -> None:
        self.settings = settings
        self.pat = ""
        self.server: ClarionServer | None = None
        self._start_timeout_s = start_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started: Future[None] = Future()
        self._thread = threading.Thread(target=self._run, name="clarion-server", daemon=True)

    @property
    def grpc_port(self) -> int:
        assert self.server is not None
        return self.server.grpc_port

    @property
    def rest_port(self) -> int:
        assert self.server is not None
        return self.server.rest_port

    @property
    def grpc_url(self) -> str:
        assert self.server is not None
        return f"{self.server.scheme}://{self.settings.host}:{self.grpc_port}"

    @property
    def rest_url(self) -> str:
        assert self.server is not None
        return f"{self.server.scheme}://{self.settings.host}:{self.rest_port}"

    def start(self) -> ServerThread:
        self._thread.start()
        self._started.result(timeout=self._start_timeout_s)
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            core = Core.open(self.settings)
            self.pat = core.ensure_bootstrap_key() or self.settings.bootstrap_pat
            self.server = ClarionServer(core)
            await self.server.start()
        except BaseException as exc:
            self._started.set_exception(exc)
            raise
        self._started.set_result(None)
        await self._stop.wait()
        await self.server.stop()

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Block until preloaded models are loaded."""
        assert self._loop is not None and self.server is not None
        asyncio.run_coroutine_threadsafe(self.server.wait_ready(), self._loop).result(timeout_s)

    def stop(self, timeout_s: float = 60.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=timeout_s)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
