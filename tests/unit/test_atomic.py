"""Files at rest are owner-only whatever the umask: directories 0700, files 0600."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from clarion.atomic import private_dir, private_file, write_atomically
from clarion.input_files import InputFiles
from clarion.registry import Registry


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, so only explicit modes can make a file private."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_private_dir_creates_parents_and_tightens_existing(tmp_path: Path) -> None:
    target = private_dir(tmp_path / "a" / "b")
    assert mode(target) == 0o700 and mode(tmp_path / "a") == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o777)
    assert mode(loose) == 0o777
    assert mode(private_dir(loose)) == 0o700


@pytest.mark.usefixtures("open_umask")
def test_private_file_and_atomic_writes(tmp_path: Path) -> None:
    existing = tmp_path / "old"
    existing.write_bytes(b"x")
    existing.chmod(0o666)
    assert mode(private_file(existing)) == 0o600 and existing.read_bytes() == b"x"
    target = tmp_path / "artifacts" / "v1.npz"
    write_atomically(target, lambda f: f.write(b"weights"))
    assert mode(target) == 0o600 and mode(target.parent) == 0o700
    files = InputFiles(tmp_path / "inputs")
    stored = files.path_for("alice", "app", "img1")
    files.write(stored, b"\x89PNG")
    assert mode(stored) == 0o600
    assert mode(stored.parent) == 0o700 and mode(tmp_path / "inputs") == 0o700


@pytest.mark.usefixtures("open_umask")
def test_registry_database_and_wal_are_private(tmp_path: Path) -> None:
    db = tmp_path / "home" / "registry.db"
    registry = Registry.open(f"sqlite:///{db}")
    try:
        registry.add_key("abcdefgh", "alice", "0" * 64, "")
        assert mode(db.parent) == 0o700
        for path in (db, db.with_name("registry.db-wal"), db.with_name("registry.db-shm")):
            assert path.exists() and mode(path) == 0o600, path
    finally:
        registry.close()
    db.chmod(0o644)
    Registry.open(f"sqlite:///{db}").close()
    assert mode(db) == 0o600
