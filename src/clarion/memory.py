"""Handing freed memory back to the operating system.

glibc keeps freed heap memory in its arenas (one per thread that allocated), and after a
large block is freed it raises its mmap threshold, so the next large images come from the
heap too and stay there. :func:`tune_allocator` pins that threshold at 1 MiB, so image
buffers and batch arrays are mapped on their own and unmapped when freed, and
:func:`release_memory` asks for every whole free page of the heaps back
(``malloc_trim(0)``). Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable

#: glibc's ``M_MMAP_THRESHOLD`` parameter of ``mallopt`` (malloc.h).
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1024 * 1024


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


def _malloc_trim() -> Callable[[int], int] | None:
    libc = _libc()
    return None if libc is None else libc.malloc_trim  # type: ignore[no-any-return]


def tune_allocator() -> bool:
    """Serve allocations of 1 MiB and more by their own mappings; True on glibc."""
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def release_memory() -> bool:
    """Return free heap pages to the OS; True when the C library could be asked."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
