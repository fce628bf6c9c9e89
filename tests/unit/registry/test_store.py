"""The registry on a real SQLite file: idempotent built-ins, immutable versions, paging."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from clarion.catalog import register_builtins
from clarion.config import Settings
from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import Concept, InputKind
from clarion.errors import StatusCode
from clarion.registry import Page, Registry
from clarion.registry.schema import ModelVersionRow


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
            for table in ("users", "apps", "models", "model_versions")
        }


@pytest.mark.slow
def test_builtins_register_once_across_restarts(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    first = register_builtins(registry, settings)
    registry.close()
    db = settings.home / "registry.db"
    before = _counts(db)

    registry = Registry.open(settings.resolved_database_url)
    second = register_builtins(registry, settings)
    registry.close()

    assert [r.version_id for r in first] == [r.version_id for r in second]
    assert _counts(db) == before
    assert before["models"] == len(first) >= 1


@pytest.mark.slow
def test_builtin_version_ids_are_32_hex_and_content_addressed(
    settings: Settings, tmp_path: Path
) -> None:
    registry = Registry.open(settings.resolved_database_url)
    items = register_builtins(registry, settings)
    registry.close()
    assert {i.model.model_id for i in items} >= {"all-minilm-l6-v2", "general-image-recognition"}
    for item in items:
        assert len(item.version_id) == 32 and int(item.version_id, 16) >= 0
        spec = item.model.spec(settings)
        moved = {}
        for key, value in spec.items():  # the same files, somewhere else
            if key.endswith("_path"):
                moved[key] = str(tmp_path / f"{item.model.model_id}-{key}")
                shutil.copyfile(value, moved[key])
        assert item.model.version_id({**spec, **moved}) == item.version_id
        assert item.model.version_id({**spec, "crop": 999, "max_length": 999}) != item.version_id


def test_versions_are_immutable(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="text-embedder")
    registry.ensure_version(model, "a" * 32, runner="r", spec={"x": 1})
    with pytest.raises(RuntimeError, match="immutable"), registry._session() as s:
        row = s.get(ModelVersionRow, "a" * 32)
        assert row is not None
        row.description = "changed"
    again = registry.ensure_version(model, "a" * 32, runner="other", spec={"x": 2})
    assert again.runner == "r" and again.spec == {"x": 1}
    registry.close()


def test_latest_version_and_paging_newest_first(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="text-embedder")
    ids = [f"{i:032x}" for i in range(5)]
    for vid in ids:
        registry.ensure_version(model, vid, runner="r", spec={})
    latest = registry.get_version(model)
    assert latest is not None and latest.id == ids[-1]
    page1 = registry.list_versions(model, Page(1, 2))
    page3 = registry.list_versions(model, Page(3, 2))
    page4 = registry.list_versions(model, Page(4, 2))
    assert [v.id for v in page1] == [ids[4], ids[3]]
    assert [v.id for v in page3] == [ids[0]]
    assert page4 == []
    assert len(registry.list_versions(model, Page(1, 0))) == 5  # 0 = default page size
    registry.close()


def test_route_names_the_model_and_version_that_get_model_and_get_version_name(
    settings: Settings,
) -> None:
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    model = registry.get_model("u1", "app", "m") or model  # as read back
    assert registry.route("u1", "app", "m") == (model, None)  # no versions yet
    ready = registry.ensure_version(model, "a" * 32, runner="r", spec={"x": 1})
    trained = registry.ensure_version(
        model, "b" * 32, runner="r", spec={}, training=(StatusCode.MODEL_TRAINED, "done", {})
    )
    registry.set_scaling(trained.id, ScalingSettings(min_replicas=2, max_replicas=3))
    queued = registry.ensure_version(
        model,
        "c" * 32,
        runner="r",
        spec={},
        training=(StatusCode.MODEL_QUEUED_FOR_TRAINING, "queued", {}),
    )
    for version_id in ("", ready.id, trained.id, queued.id, "d" * 32):
        route = registry.route("u1", "app", "m", version_id)
        assert route == (model, registry.get_version(model, version_id)), version_id
    latest = registry.route("u1", "app", "m")
    assert latest is not None and latest[1] is not None
    assert latest[1].id == trained.id, "the newest usable version, not the queued one"
    assert latest[1].trained and latest[1].scaling == ScalingSettings(
        min_replicas=2, max_replicas=3
    )
    named = registry.route("u1", "app", "m", ready.id)
    assert named is not None and named[1] is not None
    assert not named[1].trained and named[1].scaling is None
    assert registry.route("u1", "app", "other") is None
    assert registry.route("u1", "no-app", "m") is None
    assert registry.route("u2", "app", "m") is None
    registry.close()


def test_concepts_keep_their_order(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="visual-classifier")
    concepts = [Concept(id=f"c{i}", name=f"name {i}") for i in (3, 1, 2)]
    registry.ensure_version(model, "b" * 32, runner="r", spec={}, concepts=concepts)
    assert registry.concepts("b" * 32) == concepts
    assert registry.concepts("b" * 32, Page(2, 2)) == concepts[2:]
    registry.close()


def test_a_registry_from_before_app_concepts_gains_them_from_its_inputs(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from clarion.domain.workspace import StoredInput
    from clarion.registry.schema import AppConceptRow

    url = f"sqlite:///{tmp_path / 'old.db'}"
    registry = Registry.open(url)
    registry.ensure_app("alice", "old")
    now = datetime.now(UTC)
    registry.add_inputs("alice", "old", [
        StoredInput("a", InputKind.TEXT, "A goal", None, {"sports": 1.0, "food": 0.0}, now),
        StoredInput("b", InputKind.TEXT, "Soup", None, {"food": 1.0}, now),
    ])  # fmt: skip
    with registry._session() as s:  # as a registry made before the table existed
        s.query(AppConceptRow).delete()
    registry.close()
    registry = Registry.open(url)
    assert [c.id for c in registry.list_concepts("alice", "old")] == ["food", "sports"]
    assert registry.backfill_concepts() == 0  # once only
    registry.close()
