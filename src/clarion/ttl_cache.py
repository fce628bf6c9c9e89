"""A small time-bounded cache for lookups that run on every request (keys, model routes).

Entries live ``ttl_s`` seconds, so a change made elsewhere (a key revoked from the CLI, a
model deleted by another process) is seen within that time. Misses (None) are never cached,
so something created is usable at once.

    cache = TtlCache[str, Principal](ttl_s=1.0, max_entries=10_000)
    value = cache.get_or_load(key, lambda: expensive(key))
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    def __init__(self, ttl_s: float, max_entries: int = 10_000) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        if self._ttl_s <= 0:
            return load()
        now = time.monotonic()
        with self._lock:
            found = self._entries.get(key)
            if found is not None and now - found[0] < self._ttl_s:
                return found[1]
        value = load()  # exceptions and None ("not there") are not cached
        if value is None:
            return value
        with self._lock:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
