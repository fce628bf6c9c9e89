"""A small time-bounded cache for lookups that run on every request (keys, model routes).

Entries live ``ttl_s`` seconds, so a change made elsewhere (a key revoked from the CLI, a
model deleted by another process) is seen within that time. Misses (None) are never cached,
so something created is usable at once.

Given the registry's :class:`~clarion.registry.changes.ChangeWatch` (anything with a
``count()`` of changes, None when it is not known to hold), an entry lives for as long as
the count is the one read before the entry was loaded, however old it is: nothing it was
read from has changed since. When the count is not known, the time limit applies.

    cache = TtlCache[str, Principal](ttl_s=1.0, max_entries=10_000, changes=watch)
    value = cache.get_or_load(key, lambda: expensive(key))
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Changes(Protocol):
    def count(self) -> int | None: ...


class TtlCache(Generic[K, V]):
    def __init__(
        self, ttl_s: float, max_entries: int = 10_000, changes: Changes | None = None
    ) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._changes = changes
        # key -> (when it was loaded, the change count before it was, the value)
        self._entries: OrderedDict[K, tuple[float, int | None, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        if self._ttl_s <= 0:
            return load()
        now = time.monotonic()
        count = self._changes.count() if self._changes is not None else None
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                loaded_at, loaded_count, value = found
                unchanged = count is not None and loaded_count == count
                if unchanged or (count is None and now - loaded_at < self._ttl_s):
                    return value
        value = load()  # exceptions and None ("not there") are not cached
        if value is None:
            return value
        with self._lock:
            self._entries[key] = (now, count, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
