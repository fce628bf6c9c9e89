"""The runner contract every model family implements.

A runner is created for one model version, loaded once, then asked to predict whole batches
(from one request, or gathered from several). It runs in a worker thread, never on the event
loop, and must return exactly one :class:`Output` per input, in order; the pool checks that.

    class EchoRunner(Runner):
        input_kind = InputKind.TEXT

        def predict(self, inputs):
            return [Output(text=i.text) for i in inputs]
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from clarion.config import Settings
from clarion.domain.values import Input, InputKind, Output
from clarion.errors import NotImplementedFeature


class Runner(ABC):
    """Serves one model version: ``load()``, then ``predict(batch)`` any number of times."""

    #: The kind of input this model consumes.
    input_kind: InputKind = InputKind.TEXT

    def load(self) -> None:  # noqa: B027 - optional hook
        """Load weights and sessions; called once, in a worker thread."""

    @abstractmethod
    def predict(self, inputs: Sequence[Input]) -> list[Output]:
        """One output per input, in the same order."""

    def stream(self, item: Input) -> Iterator[Output]:
        """Partial outputs for one input as they are produced (generative models only)."""
        raise NotImplementedFeature(f"{type(self).__name__} does not stream its outputs.")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what ``load()`` took."""


#: Builds a runner from a version's stored spec and the process settings.
RunnerFactory = Callable[[dict[str, Any], Settings], Runner]
