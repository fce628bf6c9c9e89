"""Admission to one loaded version: at most ``limit`` inputs running or waiting at once.

gate = InFlight(limit=4)
with gate.admitted(len(inputs)):    # ModelBusy (21354) when it would pass the limit
    ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from clarion.errors import ModelBusy


class InFlight:
    """Counts a version's inputs in flight; refuses more than ``limit`` (0: no limit).
    ``on_change`` hears the new count after each change (a metrics gauge)."""

    def __init__(self, limit: int = 0, on_change: Callable[[int], None] | None = None) -> None:
        self.limit = limit
        self.count = 0
        self._on_change = on_change

    def admit(self, count: int) -> None:
        if self.limit and self.count + count > self.limit:
            raise ModelBusy(
                f"The model is working on {self.count} inputs and takes at most "
                f"{self.limit} at once; retry shortly."
            )
        self.count += count
        if self._on_change is not None:
            self._on_change(self.count)

    def release(self, count: int) -> None:
        self.count -= count
        if self._on_change is not None:
            self._on_change(self.count)

    @contextmanager
    def admitted(self, count: int) -> Iterator[None]:
        self.admit(count)
        try:
            yield
        finally:
            self.release(count)
