"""ModelDirectory on an in-memory registry: visibility, latest versions and its route cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from clarion.auth import Principal
from clarion.directory import ModelDirectory, ModelRef
from clarion.errors import ModelNotFound, PermissionDenied, ResourceNotFound, StatusCode
from clarion.registry import Registry

ALICE = Principal("alice", "k1")
BOB = Principal("bob", "k2")


@pytest.fixture
def registry() -> Iterator[Registry]:
    registry = Registry.open("sqlite://")
    model = registry.ensure_model("alice", "news", "topics", model_type_id="text-embedder")
    registry.ensure_version(model, "1" * 32, runner="r", spec={})
    yield registry
    registry.close()


def _message(error: pytest.ExceptionInfo[Exception]) -> str:
    return str(error.value).replace("bob", "alice")


def test_another_users_app_looks_like_one_that_does_not_exist(registry: Registry) -> None:
    directory = ModelDirectory(registry)
    assert directory.readable_app(ALICE, "me", "news") == ("alice", "news")
    with pytest.raises(ResourceNotFound) as hidden:
        directory.readable_app(BOB, "alice", "news")
    with pytest.raises(ResourceNotFound) as missing:
        directory.readable_app(BOB, "bob", "news")
    assert _message(hidden) == _message(missing) == "App alice/news does not exist."
    with pytest.raises(ResourceNotFound, match="does not exist"):
        directory.writable_app(BOB, "alice", "news")


def test_another_users_model_looks_like_one_that_does_not_exist(registry: Registry) -> None:
    directory = ModelDirectory(registry)
    model, version = directory.resolve(ALICE, ModelRef.of("me", "news", "topics"))
    assert (model.user_id, model.model_id, version.id) == ("alice", "topics", "1" * 32)
    with pytest.raises(ResourceNotFound, match="App alice/news does not exist"):
        directory.resolve(BOB, ModelRef.of("alice", "news", "topics"))
    with pytest.raises(ResourceNotFound, match="App alice/news does not exist"):
        directory.writable_model(BOB, "alice", "news", "topics")
    with pytest.raises(ModelNotFound, match="alice/news/models/nope does not exist"):
        directory.resolve(ALICE, ModelRef.of("alice", "news", "nope"))


def test_the_public_app_is_readable_by_everyone_and_writable_by_nobody(
    registry: Registry,
) -> None:
    registry.ensure_app("clarion", "main")
    directory = ModelDirectory(registry)
    assert directory.readable_app(BOB, "clarion", "main") == ("clarion", "main")
    with pytest.raises(PermissionDenied, match="read-only"):
        directory.writable_app(BOB, "clarion", "main")


def test_the_latest_usable_version_is_resolved_when_none_is_named(registry: Registry) -> None:
    model = registry.get_model("alice", "news", "topics")
    assert model is not None
    trained: tuple[int, str, dict[str, Any]] = (int(StatusCode.MODEL_TRAINED), "", {})
    training: tuple[int, str, dict[str, Any]] = (int(StatusCode.MODEL_TRAINING), "", {})
    registry.ensure_version(model, "2" * 32, runner="r", spec={"kind": "text"}, training=trained)
    registry.ensure_version(model, "3" * 32, runner="r", spec={"kind": "text"}, training=training)
    directory = ModelDirectory(registry)
    _, latest = directory.resolve(ALICE, ModelRef.of("alice", "news", "topics"))
    assert latest.id == "2" * 32 and latest.trained  # the one still training is passed over
    _, named = directory.resolve(ALICE, ModelRef.of("alice", "news", "topics", "3" * 32))
    assert named.id == "3" * 32
    state = directory.training(named)
    assert state is not None and state.status == StatusCode.MODEL_TRAINING
    _, built_in = directory.resolve(ALICE, ModelRef.of("alice", "news", "topics", "1" * 32))
    assert not built_in.trained and directory.training(built_in) is None
    with pytest.raises(ModelNotFound, match="has no version 'nope'"):
        directory.resolve(ALICE, ModelRef.of("alice", "news", "topics", "nope"))


def test_routes_are_cached_until_forgotten(registry: Registry) -> None:
    directory = ModelDirectory(registry, cache_s=3600)
    ref = ModelRef.of("alice", "news", "topics")
    assert directory.resolve(ALICE, ref)[1].id == "1" * 32
    model = registry.get_model("alice", "news", "topics")
    assert model is not None
    registry.ensure_version(model, "4" * 32, runner="r", spec={})
    assert directory.resolve(ALICE, ref)[1].id == "1" * 32  # still the cached route
    directory.forget()
    assert directory.resolve(ALICE, ref)[1].id == "4" * 32


def test_a_model_without_versions_says_so(registry: Registry) -> None:
    registry.ensure_model("alice", "news", "empty", model_type_id="embedding-classifier")
    with pytest.raises(ModelNotFound, match="has no versions yet"):
        ModelDirectory(registry).resolve(ALICE, ModelRef.of("alice", "news", "empty"))


def test_models_are_cached_until_forgotten_and_visibility_is_checked_each_time(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    get_model = registry.get_model

    def counted(user_id: str, app_id: str, model_id: str) -> object:
        lookups.append(model_id)
        return get_model(user_id, app_id, model_id)

    monkeypatch.setattr(registry, "get_model", counted)
    directory = ModelDirectory(registry, cache_s=3600)
    ref = ModelRef.of("alice", "news", "topics")
    assert directory.model(ALICE, ref).model_id == "topics"
    assert directory.model(ALICE, ref).model_id == "topics"
    assert lookups == ["topics"]  # the second came from the cache
    with pytest.raises(ResourceNotFound, match="App alice/news does not exist"):
        directory.model(BOB, ref)  # cached, yet still hidden from another user
    missing = ModelRef.of("alice", "news", "later")
    for _ in range(2):
        with pytest.raises(ModelNotFound, match="alice/news/models/later does not exist"):
            directory.model(ALICE, missing)
    assert lookups.count("later") == 2  # a miss is not cached
    registry.ensure_model("alice", "news", "later", model_type_id="text-embedder")
    assert directory.model(ALICE, missing).model_id == "later"  # usable at once
    directory.forget()
    directory.model(ALICE, ref)
    assert lookups.count("topics") == 2
