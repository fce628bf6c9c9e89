"""What the runtime reports as it works, to an observer (metrics) it is given.

The runtime calls these hooks on the event loop; an observer must not block.

    backend = LocalBackend(factories, settings, observer=metrics.runtime_observer())
"""

from __future__ import annotations

from typing import Protocol

from clarion.runtime.backend import Deployment


class RuntimeObserver(Protocol):
    def on_loaded_count(self, count: int) -> None:
        """How many versions are loaded, after each load and unload."""

    def on_batch(self, version: Deployment, size: int) -> None:
        """A model call of ``size`` inputs is about to run."""

    def on_queue_depth(self, version: Deployment, depth: int) -> None:
        """Inputs now waiting in ``version``'s batcher."""

    def on_in_flight(self, version: Deployment, count: int) -> None:
        """Inputs of ``version`` now admitted (running or waiting), after each change."""

    def on_tokens(self, version: Deployment, count: int) -> None:
        """``version`` generated ``count`` more tokens."""


class NoObserver:
    """Reports nowhere."""

    def on_loaded_count(self, count: int) -> None:
        pass

    def on_batch(self, version: Deployment, size: int) -> None:
        pass

    def on_queue_depth(self, version: Deployment, depth: int) -> None:
        pass

    def on_in_flight(self, version: Deployment, count: int) -> None:
        pass

    def on_tokens(self, version: Deployment, count: int) -> None:
        pass
