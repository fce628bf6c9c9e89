"""Residency with toy entries: one load shared, load waits, idle and memory-budget unloading."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from clarion.config import Settings
from clarion.errors import ModelLoading
from clarion.runtime import Deployment, NoObserver
from clarion.runtime.residency import Residency


@dataclass
class Toy:
    name: str
    memory: int = 0
    busy: bool = False

    def memory_bytes(self) -> int:
        return self.memory


class Counts(NoObserver):
    def __init__(self) -> None:
        self.loaded: list[int] = []

    def on_loaded_count(self, count: int) -> None:
        self.loaded.append(count)


def _version(name: str) -> Deployment:
    return Deployment(name, name.ljust(32, "0"), "toy", {})


def _residency(tmp_path: Path, load_s: float = 0.0, **overrides: Any) -> tuple[
    Residency[Toy], list[str], Counts
]:  # fmt: skip
    events: list[str] = []
    counts = Counts()

    async def load(version: Deployment) -> Toy:
        events.append(f"load {version.model_id}")
        await asyncio.sleep(load_s)
        return Toy(version.model_id, memory=40 * 1024 * 1024)

    async def unload(entry: Toy) -> None:
        events.append(f"unload {entry.name}")

    settings = Settings.from_env({"CLARION_HOME": str(tmp_path)}, **overrides)
    return Residency(load, unload, settings, counts), events, counts


def test_concurrent_gets_share_one_load_and_a_slow_one_answers_loading(tmp_path: Path) -> None:
    async def scenario() -> None:
        residency, events, counts = _residency(tmp_path, load_s=0.3)
        with pytest.raises(ModelLoading, match="still loading"):
            await residency.get(_version("a"), wait_s=0.01)
        entries = await asyncio.gather(*(residency.get(_version("a"), None) for _ in range(5)))
        assert len({id(e) for e in entries}) == 1 and events == ["load a"]
        assert counts.loaded == [1]
        await residency.close()
        assert events == ["load a", "unload a"]

    asyncio.run(scenario())


def test_idle_entries_unload_unless_busy(tmp_path: Path) -> None:
    async def scenario() -> None:
        residency, events, _ = _residency(tmp_path, idle_unload_s=0.1)
        a = await residency.get(_version("a"), None)
        a.busy = True
        residency.touch(a.name.ljust(32, "0"))
        await asyncio.sleep(0.25)
        assert residency.versions() == [_version("a").version_id]  # busy: kept
        a.busy = False
        await asyncio.sleep(0.25)
        assert residency.versions() == [] and "unload a" in events
        await residency.close()

    asyncio.run(scenario())


def test_the_memory_budget_unloads_the_least_recently_used_idle_entry(tmp_path: Path) -> None:
    async def scenario() -> None:
        residency, events, counts = _residency(tmp_path, memory_budget_mb=100)
        for name in "aba":
            await residency.get(_version(name), None)
        await residency.get(_version("c"), None)
        assert residency.versions() == [_version("a").version_id, _version("c").version_id]
        await asyncio.sleep(0)
        assert "unload b" in events and counts.loaded[-1] == 2
        await residency.close()

    asyncio.run(scenario())
