"""Fair sharing between keys: a request rate and a cap on concurrent generations per key.

Both are off unless configured (``CLARION_KEY_RATE`` requests per second with bursts of
``CLARION_KEY_BURST``; ``CLARION_KEY_MAX_GENERATIONS`` inputs generating at once). Beyond
them a request is refused with :class:`~clarion.errors.Throttled` (11005 CONN_THROTTLED,
HTTP 429), which carries how long to wait before retrying; a request with more inputs than
a key may ever have generating is an :class:`~clarion.errors.InvalidRequest` (400) instead.

    limits = KeyLimits(rate_per_s=20, burst=40, max_generations=8)
    limits.admit(principal)                      # every request, after its key is checked
    with limits.generating(principal, inputs=2):  # around a generation
        ...

:class:`Admission` is the one wrapper every API (gRPC, REST, ``/v1``) lets requests in by:
the key is authenticated, then its request rate is charged.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from clarion.auth import KeyManager, Principal
from clarion.errors import InvalidRequest, Throttled

#: How long a caller refused for its concurrent generations is told to wait.
GENERATION_RETRY_S = 1.0
#: Buckets idle this long are forgotten (they are full again by then).
_IDLE_FORGET_S = 600.0


@dataclass
class _Bucket:
    tokens: float
    updated: float


class KeyLimits:
    """Per-key token buckets for requests and counters for generations (thread-safe)."""

    def __init__(
        self,
        rate_per_s: float = 0.0,
        burst: int = 0,
        max_generations: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate_per_s = max(0.0, rate_per_s)
        self.burst = max(1, burst or math.ceil(self.rate_per_s))
        self.max_generations = max(0, max_generations)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._generating: dict[str, int] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def admit(self, principal: Principal) -> None:
        """Charge one request to the key, or raise :class:`Throttled` with the wait."""
        if self.rate_per_s <= 0:
            return
        now = self._clock()
        with self._lock:
            self._sweep(now)
            bucket = self._buckets.setdefault(principal.key_id, _Bucket(self.burst, now))
            bucket.tokens = min(
                self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return
            wait = (1.0 - bucket.tokens) / self.rate_per_s
        raise Throttled(
            f"The key {principal.key_id}... is over its request rate of {self.rate_per_s:g} "
            f"per second (bursts of {self.burst}, CLARION_KEY_RATE); retry in {wait:.2f} s.",
            retry_after_s=wait,
        )

    @contextmanager
    def generating(self, principal: Principal, inputs: int = 1) -> Iterator[None]:
        """Hold ``inputs`` of the key's concurrent generations for the ``with`` block."""
        if self.max_generations <= 0:
            yield
            return
        key = principal.key_id
        if inputs > self.max_generations:  # would never fit: retrying cannot help
            raise InvalidRequest(
                f"This request asks for {inputs} inputs generating at once; each key may have "
                f"at most {self.max_generations} (CLARION_KEY_MAX_GENERATIONS). Send at most "
                f"{self.max_generations} inputs per request."
            )
        with self._lock:
            held = self._generating.get(key, 0)
            if held + inputs > self.max_generations:
                raise Throttled(
                    f"The key {key}... already has {held} inputs generating; each key may "
                    f"have at most {self.max_generations} at once "
                    f"(CLARION_KEY_MAX_GENERATIONS), this request asks for {inputs} more. "
                    f"Retry in {GENERATION_RETRY_S:g} s.",
                    retry_after_s=GENERATION_RETRY_S,
                )
            self._generating[key] = held + inputs
        try:
            yield
        finally:
            with self._lock:
                left = self._generating[key] - inputs
                if left:
                    self._generating[key] = left
                else:
                    del self._generating[key]

    def generations(self, principal: Principal) -> int:
        """How many of the key's inputs are generating now."""
        with self._lock:
            return self._generating.get(principal.key_id, 0)

    def _sweep(self, now: float) -> None:
        if now - self._swept < _IDLE_FORGET_S:
            return
        self._swept = now
        stale = [k for k, b in self._buckets.items() if now - b.updated > _IDLE_FORGET_S]
        for key in stale:
            del self._buckets[key]


class Admission:
    """Lets a request in: its key is authenticated, then charged to the key's rate.

    Every API adapter calls :meth:`authenticate` (and nothing else) for this, so the
    limits apply the same way over gRPC, the REST gateway and ``/v1``.
    """

    def __init__(self, keys: KeyManager, limits: KeyLimits) -> None:
        self.keys = keys
        self.limits = limits

    def authenticate(self, authorization: str | None) -> Principal:
        principal = self.keys.authenticate(authorization)
        self.limits.admit(principal)
        return principal
