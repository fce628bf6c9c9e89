"""The lookup cache: a time limit, or the registry's change count where one is known."""

from __future__ import annotations

import time
from collections.abc import Callable

from clarion.ttl_cache import TtlCache


class _Count:
    def __init__(self) -> None:
        self.value: int | None = None

    def count(self) -> int | None:
        return self.value


def _loader(values: list[str]) -> tuple[list[int], Callable[[], str]]:
    loads = [0]

    def load() -> str:
        loads[0] += 1
        return values[loads[0] - 1]

    return loads, load


def test_without_a_count_entries_are_read_again_after_the_time_limit() -> None:
    cache = TtlCache[str, str](ttl_s=0.1)
    loads, load = _loader(["a", "b"])
    assert cache.get_or_load("k", load) == "a"
    assert cache.get_or_load("k", load) == "a"
    time.sleep(0.12)
    assert cache.get_or_load("k", load) == "b"
    assert loads == [2]


def test_an_unchanged_count_keeps_an_entry_past_the_time_limit() -> None:
    changes = _Count()
    changes.value = 5
    cache = TtlCache[str, str](ttl_s=0.1, changes=changes)
    loads, load = _loader(["a", "b", "c"])
    assert cache.get_or_load("k", load) == "a"
    time.sleep(0.12)
    assert cache.get_or_load("k", load) == "a", "nothing changed"
    changes.value = 6
    assert cache.get_or_load("k", load) == "b", "a change, however recent"
    changes.value = None  # the count is not known now: the time limit again
    assert cache.get_or_load("k", load) == "b"
    time.sleep(0.12)
    assert cache.get_or_load("k", load) == "c"
    assert loads == [3]


def test_an_entry_loaded_while_the_count_was_unknown_is_read_again_once_it_is_known() -> None:
    changes = _Count()
    cache = TtlCache[str, str](ttl_s=60, changes=changes)
    loads, load = _loader(["a", "b"])
    assert cache.get_or_load("k", load) == "a"
    changes.value = 1
    assert cache.get_or_load("k", load) == "b"
    assert cache.get_or_load("k", load) == "b"
    assert loads == [2]
