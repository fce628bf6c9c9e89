"""Frozen dataset version files: private whatever the umask, linked or copied, all or none."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from clarion.domain.values import InputKind
from clarion.domain.workspace import StoredInput
from clarion.input_files import InputFiles
from clarion.workspace.version_files import VersionFiles


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _image(folder: Path, input_id: str) -> StoredInput:
    files = InputFiles(folder)  # stored as the server stores them: 0600
    source = files.path_for("alice", "photos", input_id)
    files.write(source, b"image bytes of " + input_id.encode())
    now = datetime.now(UTC)
    return StoredInput(input_id, InputKind.IMAGE, None, str(source), {"red": 1.0}, now, {}, ("d",))


@pytest.mark.parametrize("link", [True, False], ids=["hard-link", "copy"])
def test_a_version_is_private_under_a_permissive_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, link: bool
) -> None:
    image = _image(tmp_path / "inputs", "red1")
    if not link:  # another file system: os.link fails with EXDEV

        def cross_device(*_args: object) -> None:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(os, "link", cross_device)
    root = tmp_path / "dataset-versions"
    previous = os.umask(0o022)
    try:
        (frozen_input,) = VersionFiles(root).freeze("v1", [image])
    finally:
        os.umask(previous)
    frozen = Path(frozen_input.file or "")
    assert frozen.read_bytes() == Path(image.file or "").read_bytes()
    assert frozen.parent.parent == root
    assert (_mode(root), _mode(frozen.parent), _mode(frozen)) == (0o700, 0o700, 0o600)
    assert [p.name for p in frozen.parent.iterdir()] == [frozen.name]  # no partial left


def test_a_failed_freeze_leaves_no_files(tmp_path: Path) -> None:
    kept = _image(tmp_path / "inputs", "red1")
    gone = _image(tmp_path / "inputs", "red2")
    Path(gone.file or "").unlink()
    root = tmp_path / "dataset-versions"
    with pytest.raises(FileNotFoundError):
        VersionFiles(root).freeze("v1", [kept, gone])
    assert not (root / "v1").exists()


def test_removing_files_removes_emptied_version_folders(tmp_path: Path) -> None:
    root = tmp_path / "dataset-versions"
    files = VersionFiles(root)
    (frozen,) = files.freeze("v1", [_image(tmp_path / "inputs", "red1")])
    files.remove([frozen.file or ""])
    assert list(root.iterdir()) == []
