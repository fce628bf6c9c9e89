"""What servers on one registry share: scaling settings, heartbeats, training owners."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from clarion.config import Settings
from clarion.domain.models import Model
from clarion.domain.scaling import ScalingSettings
from clarion.errors import StatusCode
from clarion.registry import Page, Registry
from clarion.registry.schema import AppRow

TRAINING: tuple[int, str, dict[str, Any]] = (int(StatusCode.MODEL_TRAINING), "Training", {})
UNFINISHED = [int(StatusCode.MODEL_QUEUED_FOR_TRAINING), int(StatusCode.MODEL_TRAINING)]


@pytest.fixture
def registry(settings: Settings) -> Iterator[Registry]:
    registry = Registry.open(settings.resolved_database_url)
    yield registry
    registry.close()


def _model(registry: Registry, user_id: str = "u1") -> Model:
    return registry.ensure_model(user_id, "app", "m", model_type_id="embedding-classifier")


def test_scaling_settings_are_stored_per_version_and_carried_by_it(registry: Registry) -> None:
    model = _model(registry)
    plain = registry.ensure_version(model, "a" * 32, runner="r", spec={})
    assert plain.scaling is None
    wanted = ScalingSettings(min_replicas=0, max_replicas=4, max_queued_requests=50)
    assert registry.set_scaling(plain.id, wanted)
    version = registry.get_version(model, plain.id)
    assert version is not None and version.scaling == wanted
    assert registry.list_versions(model, Page())[0].scaling == wanted
    changed = ScalingSettings(min_replicas=2, max_replicas=2)
    assert registry.set_scaling(plain.id, changed)
    found = registry.version_by_id(plain.id)
    assert found is not None and found[0].path == model.path and found[1].scaling == changed
    assert not registry.set_scaling("missing", changed)
    assert registry.version_by_id("missing") is None


def test_scaled_versions_lists_only_those_with_settings_of_the_given_users(
    registry: Registry,
) -> None:
    model, other = _model(registry), _model(registry, "u2")
    for version_id, owner in (("a" * 32, model), ("b" * 32, model), ("c" * 32, other)):
        registry.ensure_version(owner, version_id, runner="r", spec={})
    registry.set_scaling("b" * 32, ScalingSettings(max_replicas=3))
    registry.set_scaling("c" * 32, ScalingSettings(max_replicas=3))
    assert [v.id for _, v in registry.scaled_versions(["u1"])] == ["b" * 32]
    assert [v.id for _, v in registry.scaled_versions(["u1", "u2"], ["c" * 32])] == ["c" * 32]


def test_deleting_a_version_or_its_model_deletes_its_settings_and_owner(
    registry: Registry,
) -> None:
    model = _model(registry)
    for version_id in ("a" * 32, "b" * 32):
        registry.ensure_version(
            model, version_id, runner="r", spec={}, training=TRAINING, training_owner="s1"
        )
        registry.set_scaling(version_id, ScalingSettings(max_replicas=2))
    registry.delete_version("a" * 32)
    assert registry.version_by_id("a" * 32) is None
    registry.delete_model(model)
    assert registry.scaled_versions(["u1"]) == []


def _moment_between_beats() -> datetime:
    """A time strictly after every heartbeat so far and strictly before the next one."""
    time.sleep(0.005)
    moment = datetime.now(UTC)
    time.sleep(0.005)
    return moment


def test_only_trainings_of_gone_or_unknown_servers_or_of_this_one_are_orphaned(
    registry: Registry,
) -> None:
    model = _model(registry)
    registry.heartbeat("gone")
    owners = {"1" * 32: "alive", "2" * 32: "gone", "3" * 32: "me", "4" * 32: "", "5" * 32: "never"}
    for version_id, owner in owners.items():
        registry.ensure_version(
            model, version_id, runner="r", spec={}, training=TRAINING, training_owner=owner
        )
    stale_before = _moment_between_beats()
    registry.heartbeat("alive")  # only this one beat since ``stale_before``
    assert registry.live_front_ends(stale_before) == {"alive"}
    orphaned = registry.orphaned_trainings(UNFINISHED, "me", stale_before)
    assert sorted(orphaned) == ["2" * 32, "3" * 32, "4" * 32, "5" * 32]
    registry.set_training("2" * 32, int(StatusCode.MODEL_TRAINED), "done")
    assert "2" * 32 not in registry.orphaned_trainings(UNFINISHED, "me", stale_before)


def test_a_row_another_server_created_meanwhile_is_read_instead(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers registering one app at once: the one whose check ran before the other's
    insert committed hits the unique constraint, and its second try finds that row."""
    registry.ensure_app("u1", "app", description="the other server's")
    looked: list[str] = []
    found = Registry._app

    def not_yet_committed(s: Session, user_id: str, app_id: str) -> AppRow | None:
        looked.append(app_id)
        return None if len(looked) == 1 else found(s, user_id, app_id)

    monkeypatch.setattr(Registry, "_app", staticmethod(not_yet_committed))
    model = registry.ensure_model("u1", "app", "m", model_type_id="text-embedder")
    assert len(looked) >= 3 and model.app_id == "app"
    monkeypatch.undo()
    assert [a.description for a in registry.list_apps("u1", 0, 10)] == ["the other server's"]


def test_other_errors_are_not_retried(registry: Registry) -> None:
    calls: list[int] = []

    def failing(_s: Session) -> None:
        calls.append(1)
        raise ValueError("not a race")

    with pytest.raises(ValueError):
        registry._ensure(failing)
    assert calls == [1]


def test_demand_lists_wanted_versions_first_asked_first_and_then_the_deleted_ones(
    registry: Registry,
) -> None:
    model = _model(registry)
    first = registry.ensure_version(model, "b" * 32, runner="r", spec={})
    second = registry.ensure_version(model, "a" * 32, runner="r", spec={})
    registry.want_version(first.id)
    registry.want_version(second.id)
    registry.want_version(first.id)  # asked again: asked last now
    scaling = ScalingSettings(min_replicas=0, max_replicas=2)
    registry.set_scaling(second.id, scaling)
    wanted = registry.demanded_versions()
    assert [v.id for _, v in wanted] == [second.id, first.id]
    assert wanted[0][0].model_id == "m" and wanted[0][1].scaling == scaling
    assert registry.demand_gone() == []

    registry.delete_version(first.id)
    assert [v.id for _, v in registry.demanded_versions()] == [second.id]
    assert registry.demand_gone() == [first.id]
    registry.forget_demand([first.id])
    assert registry.demand_gone() == []
    assert registry.reconciler_election() is None  # SQLite: its one server leads
