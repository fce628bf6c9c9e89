"""The registry's change count on a real SQLite file, and the watch that reads it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clarion.config import Settings
from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import InputKind
from clarion.domain.workspace import StoredInput
from clarion.errors import StatusCode
from clarion.registry import Registry
from clarion.registry.changes import ChangeWatch


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    registry = Registry.open(settings.resolved_database_url)
    yield registry
    registry.close()


def test_every_change_to_what_front_ends_cache_raises_the_count_once(registry: Registry) -> None:
    counts = [registry.change_count()]

    def changed() -> int:
        counts.append(registry.change_count())
        return counts[-1] - counts[-2]

    model = registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    assert changed() == 3, "a user, an app and a model: a transaction each"
    registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    assert changed() == 0, "all three there already: nothing written"
    version = registry.ensure_version(
        model,
        "a" * 32,
        runner="r",
        spec={},
        training=(StatusCode.MODEL_QUEUED_FOR_TRAINING, "", {}),
    )
    assert changed() == 1
    assert registry.set_training(version.id, StatusCode.MODEL_TRAINED, "done")
    assert changed() == 1
    assert registry.set_scaling(version.id, ScalingSettings(min_replicas=1, max_replicas=2))
    assert changed() == 1
    registry.add_key("abcdefgh", "u1", "0" * 64, "")
    assert changed() == 1
    assert registry.revoke_key("abcdefgh")
    assert changed() == 1
    registry.delete_version(version.id)
    assert changed() == 1, "DELETE statements, not the unit of work"
    registry.delete_model(model)
    assert changed() == 1


def test_reads_and_rows_nobody_caches_leave_the_count(registry: Registry) -> None:
    model = registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    before = registry.change_count()
    registry.get_version(model)
    registry.route("u1", "app", "m")
    registry.find_key("nothere")
    registry.heartbeat("front-end-1", "host")
    now = datetime.now(UTC)
    registry.add_inputs("u1", "app", [StoredInput("i1", InputKind.TEXT, "hi", None, {}, now)])
    assert registry.change_count() == before


def test_a_registry_made_before_the_count_gains_it(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    Registry.open(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE registry_changes")
    registry = Registry.open(f"sqlite:///{path}")
    assert registry.change_count() == 0
    registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    assert registry.change_count() == 3
    registry.close()
    again = Registry.open(f"sqlite:///{path}")
    assert again.change_count() == 3, "opening again keeps the count"
    again.close()


def test_the_watch_trusts_a_count_for_its_time_from_when_the_read_began() -> None:
    counts = iter([7, 8])
    watch = ChangeWatch(lambda: next(counts), trust_s=0.2)
    assert watch.count() is None, "not read yet"
    watch.poll()
    assert watch.count() == 7
    watch.poll()
    assert watch.count() == 8
    time.sleep(0.25)
    assert watch.count() is None, "too old to vouch for now"


def test_a_failed_read_leaves_the_last_count_to_age_out() -> None:
    reads = iter([3])
    watch = ChangeWatch(lambda: next(reads), trust_s=0.2)
    watch.poll()
    watch.poll()  # the registry does not answer (StopIteration here)
    assert watch.count() == 3
    time.sleep(0.25)
    assert watch.count() is None
