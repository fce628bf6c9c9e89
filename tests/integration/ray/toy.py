"""A toy runner family for the Ray backend's tests: slow to load or to answer on demand.

It must be importable by Ray's worker processes (the cluster's PYTHONPATH names the repo).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.errors import InvalidParameter
from clarion.runtime.runner import Runner


class ToyRunner(Runner[None]):
    """Echoes its inputs; ``spec["load_s"]`` delays loading, ``spec["broken"]`` makes loading
    fail with that message, a text ``slow`` takes 2 s and a text ``bad`` raises 21202; it
    streams an input as its one piece (``slow``: after 2 s)."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._load_s = float(spec.get("load_s", 0))
        self._broken = str(spec.get("broken", ""))

    @classmethod
    def from_spec(cls, spec: dict[str, Any], settings: Settings) -> ToyRunner:
        return cls(spec)

    def load(self) -> None:
        time.sleep(self._load_s)
        if self._broken:
            raise RuntimeError(self._broken)

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        if any(i.text == "bad" for i in inputs):
            raise InvalidParameter("bad is not a word this model takes", parameter="text")
        if any(i.text == "slow" for i in inputs):
            time.sleep(2)
        return [Output(text=i.text.upper()) for i in inputs]

    def stream(
        self, item: Input, params: None, emit: Callable[[Output], bool], stop: threading.Event
    ) -> Output:
        (piece,) = self.predict([item])
        emit(piece)
        return Output()


FACTORIES = {"toy": ToyRunner.from_spec}
