"""The allocator hooks work on this (glibc) system."""

from __future__ import annotations

import platform

import pytest

from clarion.memory import release_memory, tune_allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_allocator_hooks_answer_on_glibc() -> None:
    assert tune_allocator() is True
    assert release_memory() is True
