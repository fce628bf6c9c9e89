"""The runner contract every model family implements.

A runner is created for one model version, loaded once, then asked to predict whole batches
(from one request, or gathered from several). It runs in a worker thread, never on the event
loop, and must return exactly one :class:`Output` per input, in order; the runtime checks that.
A runner is generic in its params type: ``None`` for families that take no inference
parameters, :class:`GenerationParams` for text generation.

    class EchoRunner(Runner[None]):
        def predict(self, inputs, params=None):
            return [Output(text=i.text) for i in inputs]

A runner that is a small trained head on a base embedder (a concept model) also implements
:class:`HeadOnBase`, so that a cluster can serve its :class:`Head` apart from the embedder.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.errors import NotImplementedFeature

P = TypeVar("P")


class Runner(ABC, Generic[P]):
    """Serves one model version: ``load()``, then ``predict(batch)`` any number of times."""

    #: Whether inputs from concurrent requests may be gathered into one call (a dynamic
    #: batcher in front). Batchable runners take no params. False for engines that batch
    #: internally, like the LLM.
    batchable: bool = True
    #: A cap on the batcher's batch size for this family, if it needs one.
    max_batch_size: int | None = None
    #: Threads of its own for calls that mostly wait (an engine with parallel slots): the
    #: runtime then runs each input as its own call, in one of these threads. 0 means the
    #: shared model threads (``CLARION_MODEL_THREADS``), one call per batch, for
    #: compute-bound runners.
    threads: int = 0
    #: For runners without a batcher: most inputs running or waiting at once; the runtime
    #: refuses more with 21354 before they take a thread. 0 means no limit.
    max_in_flight: int = 0

    def load(self) -> None:
        """Load weights and sessions; called once, in a worker thread."""

    @abstractmethod
    def predict(self, inputs: Sequence[Input], params: P) -> list[Output]:
        """One output per input, in the same order, for the model kind's validated params."""

    def predict_until(
        self, inputs: Sequence[Input], params: P, stop: threading.Event
    ) -> list[Output]:
        """:meth:`predict`, giving up early once ``stop`` is set (every caller of the batch
        went away, or the call ran past ``CLARION_RUNNER_TIMEOUT_S``). What it returns then
        is discarded. The runtime always calls this; the default runs :meth:`predict` to the
        end, which suits short batch calls. Runners whose calls run long (generation)
        override it and check ``stop`` as they go."""
        return self.predict(inputs, params)

    def memory_bytes(self) -> int:
        """An estimate of the memory this runner holds once loaded."""
        return 0

    def stream(
        self, item: Input, params: P, emit: Callable[[Output], bool], stop: threading.Event
    ) -> Output:
        """Generate for one input, handing each new piece to ``emit`` as it is produced.

        Once the consumer has gone away, ``stop`` is set and ``emit`` returns False; the
        runner must then stop (and free what the generation held) promptly, also in work
        that emits nothing (a reasoning pass). Returns the final summary output (token
        counts, finish reason) without repeating the text. Generative models only.
        """
        raise NotImplementedFeature(f"{type(self).__name__} does not stream its outputs.")

    def close(self) -> None:
        """Release what ``load()`` took."""


#: Builds a runner from a version's stored spec and the process settings.
RunnerFactory = Callable[[dict[str, Any], Settings], Runner[Any]]


class Head(Protocol):
    """Outputs computed from a base embedder's outputs (a concept model's trained heads)."""

    def apply(self, embedded: Sequence[Output]) -> list[Output]:
        """One output per embedded input, in order."""


@runtime_checkable
class HeadOnBase(Protocol):
    """A runner that is a :class:`Head` on a base embedder, whose runner and spec its
    version's spec pins (``base_runner``, ``base_spec``, ``base_version_id``). On a cluster the
    heads on one embedder share a deployment that calls the embedder's own."""

    def read_head(self) -> Head:
        """The head alone, without the base (failing as :meth:`Runner.load` would)."""
