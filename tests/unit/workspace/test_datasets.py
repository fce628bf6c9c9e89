"""DatasetService on a registry of its own: datasets, their inputs and frozen versions.

The registry is a SQLite file: versions are frozen in a worker thread, which an in-memory
database (one per thread) would not share.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clarion.auth import PUBLIC_USER, Principal
from clarion.directory import ModelDirectory
from clarion.domain.datasets import DatasetVersion, NewDataset
from clarion.domain.values import Concept, InputKind
from clarion.domain.workspace import InputPatch, PatchAction, StoredInput
from clarion.errors import InvalidRequest, PermissionDenied, ResourceNotFound
from clarion.input_files import InputFiles
from clarion.registry import Page, Registry
from clarion.workspace import datasets
from clarion.workspace.datasets import DatasetService
from clarion.workspace.version_files import VersionFiles

ALICE = Principal("alice", "k1")
BOB = Principal("bob", "k2")
PAGE = Page(1, 100)


@dataclass
class Workspace:
    service: DatasetService
    registry: Registry
    home: Path


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    registry = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    registry.ensure_app("alice", "photos")
    registry.ensure_app(PUBLIC_USER, "main")
    files = VersionFiles(tmp_path / "dataset-versions")
    yield Workspace(DatasetService(registry, ModelDirectory(registry), files), registry, tmp_path)
    registry.close()


def _add(
    workspace: Workspace, input_id: str, labels: dict[str, float], image: bool = False
) -> None:
    now = datetime.now(UTC)
    if image:
        files = InputFiles(workspace.home / "inputs")
        path = files.path_for("alice", "photos", input_id)
        files.write(path, b"image bytes of " + input_id.encode())
        stored = StoredInput(input_id, InputKind.IMAGE, None, str(path), labels, now)
    else:
        stored = StoredInput(input_id, InputKind.TEXT, f"text {input_id}", None, labels, now)
    assert workspace.registry.add_inputs("alice", "photos", [stored]) == []


def _dataset(workspace: Workspace, *input_ids: str) -> None:
    service = workspace.service
    service.create_datasets(ALICE, "me", "photos", [NewDataset("d")])
    if input_ids:
        service.add_dataset_inputs(ALICE, "me", "photos", "d", input_ids)


def _freeze(workspace: Workspace, description: str = "") -> DatasetVersion:
    return asyncio.run(workspace.service.create_version(ALICE, "me", "photos", "d", description))


def _entry(stored: StoredInput) -> tuple[str, str | None, str | None, dict[str, float]]:
    return stored.input_id, stored.text, stored.file, dict(stored.concepts)


def test_datasets_are_created_listed_and_named_by_their_owner(workspace: Workspace) -> None:
    service = workspace.service
    created = service.create_datasets(
        ALICE, "me", "photos", [NewDataset("b", "second"), NewDataset("a")]
    )
    assert [(d.user_id, d.app_id, d.dataset_id) for d in created] == [
        ("alice", "photos", "b"), ("alice", "photos", "a"),
    ]  # fmt: skip
    assert [d.dataset_id for d in service.list_datasets(ALICE, "me", "photos", PAGE)] == ["a", "b"]
    found = service.get_dataset(ALICE, "alice", "photos", "b")
    assert (found.description, found.input_count) == ("second", 0)


def test_taken_or_repeated_dataset_ids_create_nothing(workspace: Workspace) -> None:
    service = workspace.service
    service.create_datasets(ALICE, "me", "photos", [NewDataset("old")])
    for ids in (["new", "old"], ["twice", "twice"]):
        with pytest.raises(InvalidRequest, match="nothing was created") as refused:
            service.create_datasets(ALICE, "me", "photos", [NewDataset(i) for i in ids])
        assert refused.value.code == 11102
    assert [d.dataset_id for d in service.list_datasets(ALICE, "me", "photos", PAGE)] == ["old"]


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ([], "takes 1 to 128 datasets, got 0"),
        ([NewDataset(f"d{n}") for n in range(129)], "takes 1 to 128 datasets, got 129"),
        ([NewDataset("")], "needs an id of 1 to 128 characters"),
        ([NewDataset("a/b")], "without '/'"),
        ([NewDataset("d" * 129)], "needs an id of 1 to 128 characters"),
        ([NewDataset("d", "x" * 1001)], "the limit is 1000"),
    ],
    ids=["none", "too-many", "no-id", "slash", "long-id", "long-description"],
)
def test_bad_datasets_are_refused(
    workspace: Workspace, new: list[NewDataset], message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        workspace.service.create_datasets(ALICE, "me", "photos", new)
    assert workspace.service.list_datasets(ALICE, "me", "photos", PAGE) == []


def test_only_the_owner_changes_an_app_and_clarion_main_is_read_only(
    workspace: Workspace,
) -> None:
    service = workspace.service
    with pytest.raises(ResourceNotFound, match="App alice/photos does not exist"):
        service.create_datasets(BOB, "alice", "photos", [NewDataset("d")])
    with pytest.raises(ResourceNotFound, match="App alice/photos does not exist"):
        service.list_datasets(BOB, "alice", "photos", PAGE)
    with pytest.raises(PermissionDenied, match="read-only"):
        service.create_datasets(ALICE, PUBLIC_USER, "main", [NewDataset("d")])
    with pytest.raises(ResourceNotFound, match="Dataset 'nope' does not exist in alice/photos"):
        service.get_dataset(ALICE, "me", "photos", "nope")


def test_dataset_inputs_are_added_all_or_none(workspace: Workspace) -> None:
    _add(workspace, "i1", {"red": 1.0})
    _dataset(workspace)
    service = workspace.service
    with pytest.raises(ResourceNotFound, match="do not exist in alice/photos: nope; nothing"):
        service.add_dataset_inputs(ALICE, "me", "photos", "d", ["i1", "nope"])
    assert service.list_dataset_inputs(ALICE, "me", "photos", "d", PAGE) == []
    with pytest.raises(InvalidRequest, match="takes 1 to 128 dataset_inputs"):
        service.add_dataset_inputs(ALICE, "me", "photos", "d", [""])
    added = service.add_dataset_inputs(ALICE, "me", "photos", "d", ["i1"])
    assert [i.input_id for i in added] == ["i1"]
    assert service.get_dataset(ALICE, "me", "photos", "d").input_count == 1
    service.remove_dataset_inputs(ALICE, "me", "photos", "d", ["i1"])
    assert service.list_dataset_inputs(ALICE, "me", "photos", "d", PAGE) == []
    assert workspace.registry.list_inputs("alice", "photos") != []  # still in the app


def test_a_version_freezes_the_inputs_and_labels_of_its_time(workspace: Workspace) -> None:
    _add(workspace, "i1", {"red": 1.0, "blue": 1.0})
    _add(workspace, "i2", {"red": 0.0})
    _add(workspace, "i3", {"red": 1.0}, image=True)
    _dataset(workspace, "i1", "i2", "i3")
    version = _freeze(workspace, "first cut")
    assert (version.user_id, version.dataset_id, version.description) == ("alice", "d", "first cut")
    assert (len(version.snapshot), version.unlabelled_count, version.positive_label_count) == (
        3, 1, 3,
    )  # fmt: skip
    patch = InputPatch("i1", (Concept("red", "", 0.0),))
    workspace.registry.patch_inputs("alice", "photos", [patch], PatchAction.OVERWRITE)
    image_files = workspace.registry.delete_inputs("alice", "photos", ["i3"])
    for name in image_files:
        Path(name).unlink()
    service = workspace.service
    again = service.get_version(ALICE, "me", "photos", "d", version.id)
    assert [_entry(i) for i in again.snapshot] == [_entry(i) for i in version.snapshot]
    assert {i.input_id: dict(i.concepts) for i in again.snapshot}["i1"] == {
        "red": 1.0, "blue": 1.0,
    }  # fmt: skip
    (image,) = [i for i in again.snapshot if i.file is not None]
    assert Path(image.file or "").read_bytes() == b"image bytes of i3"
    listed = service.list_versions(ALICE, "me", "photos", "d", PAGE)
    assert [v.id for v in listed] == [version.id]


def test_versions_are_found_only_under_their_dataset(workspace: Workspace) -> None:
    _dataset(workspace)
    version = _freeze(workspace)
    service = workspace.service
    service.create_datasets(ALICE, "me", "photos", [NewDataset("other")])
    with pytest.raises(ResourceNotFound, match="Dataset 'other' of alice/photos has no version"):
        service.get_version(ALICE, "me", "photos", "other", version.id)
    with pytest.raises(ResourceNotFound, match="Dataset 'nope' does not exist"):
        asyncio.run(service.create_version(ALICE, "me", "photos", "nope"))


def test_a_long_version_description_is_refused(workspace: Workspace) -> None:
    _dataset(workspace)
    with pytest.raises(InvalidRequest, match="the limit is 2000"):
        _freeze(workspace, "x" * 2001)
    assert workspace.service.list_versions(ALICE, "me", "photos", "d", PAGE) == []


def test_a_dataset_over_the_limit_is_refused_without_reading_it_all(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        _add(workspace, f"i{n}", {"red": 1.0}, image=True)
    _dataset(workspace, "i0", "i1", "i2")
    monkeypatch.setattr(datasets, "MAX_VERSION_INPUTS", 2)
    asked: list[int | None] = []
    registry = workspace.registry
    list_inputs = registry.list_dataset_inputs

    def spy(
        user_id: str, app_id: str, dataset_id: str, offset: int = 0, limit: int | None = None
    ) -> list[StoredInput]:
        asked.append(limit)
        return list_inputs(user_id, app_id, dataset_id, offset, limit)

    monkeypatch.setattr(registry, "list_dataset_inputs", spy)
    with pytest.raises(InvalidRequest, match="at most 2 inputs"):
        _freeze(workspace)
    assert asked == [3]
    assert not (workspace.home / "dataset-versions").exists()


def test_deleting_datasets_and_versions_removes_their_files(workspace: Workspace) -> None:
    _add(workspace, "i1", {"red": 1.0}, image=True)
    _dataset(workspace, "i1")
    service = workspace.service
    first, second = _freeze(workspace), _freeze(workspace)
    root = workspace.home / "dataset-versions"
    assert sorted(p.name for p in root.iterdir()) == sorted([first.id, second.id])
    service.delete_versions(ALICE, "me", "photos", "d", [first.id])
    assert [p.name for p in root.iterdir()] == [second.id]
    with pytest.raises(ResourceNotFound, match="Dataset 'nope' does not exist in alice/photos; "):
        service.delete_datasets(ALICE, "me", "photos", ["d", "nope"])
    with pytest.raises(InvalidRequest, match="at most 1000 dataset ids"):
        service.delete_datasets(ALICE, "me", "photos", ["d"] * 1001)
    service.delete_datasets(ALICE, "me", "photos", ["d"])
    assert list(root.iterdir()) == []
    assert service.list_datasets(ALICE, "me", "photos", PAGE) == []
