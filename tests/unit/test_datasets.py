"""Frozen dataset versions on disk: private whatever the umask, linked or copied, bounded."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clarion import datasets
from clarion.datasets import DatasetVersions
from clarion.errors import InvalidRequest
from clarion.input_files import InputFiles
from clarion.registry import Registry
from clarion.registry.workspace import InputRecord


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    opened = Registry.open(f"sqlite:///{tmp_path / 'registry.db'}")
    opened.ensure_app("alice", "photos")
    assert opened.add_datasets("alice", "photos", [("d", "")]) == []
    try:
        yield opened
    finally:
        opened.close()


def _add_image(registry: Registry, folder: Path, input_id: str) -> Path:
    files = InputFiles(folder)  # stored as the server stores them: 0600
    source = files.path_for("alice", "photos", input_id)
    files.write(source, b"image bytes of " + input_id.encode())
    now = datetime.now(UTC)
    record = InputRecord(input_id, "image", None, str(source), {"red": 1.0}, now, {}, ("d",))
    assert registry.add_inputs("alice", "photos", [record]) == []
    return source


@pytest.mark.parametrize("link", [True, False], ids=["hard-link", "copy"])
def test_a_version_is_private_under_a_permissive_umask(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: bool
) -> None:
    source = _add_image(registry, tmp_path / "inputs", "red1")
    if not link:  # another file system: os.link fails with EXDEV

        def cross_device(*_args: object) -> None:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "link", cross_device)
    root = tmp_path / "dataset-versions"
    previous = os.umask(0o022)
    try:
        version = DatasetVersions(registry, root).create("alice", "photos", "d")
    finally:
        os.umask(previous)
    frozen = Path(version.snapshot[0].file or "")
    assert frozen.read_bytes() == source.read_bytes()
    assert frozen.parent.parent == root
    assert (_mode(root), _mode(frozen.parent), _mode(frozen)) == (0o700, 0o700, 0o600)
    assert [p.name for p in frozen.parent.iterdir()] == [frozen.name]  # no partial left


def test_a_dataset_over_the_limit_is_refused_without_reading_it_all(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(3):
        _add_image(registry, tmp_path / "inputs", f"i{n}")
    monkeypatch.setattr(datasets, "MAX_VERSION_INPUTS", 2)
    asked: list[int | None] = []
    list_inputs = registry.list_dataset_inputs

    def spy(
        user_id: str, app_id: str, dataset_id: str, offset: int = 0, limit: int | None = None
    ) -> list[InputRecord]:
        asked.append(limit)
        return list_inputs(user_id, app_id, dataset_id, offset, limit)

    monkeypatch.setattr(registry, "list_dataset_inputs", spy)
    with pytest.raises(InvalidRequest, match="at most 2 inputs"):
        DatasetVersions(registry, tmp_path / "dataset-versions").create("alice", "photos", "d")
    assert asked == [3]
    assert not (tmp_path / "dataset-versions").exists()
