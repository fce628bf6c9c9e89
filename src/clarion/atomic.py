"""Private files: owner-only directories and files, written so that readers see the whole
new content or none of it.

Modes are set explicitly (``chmod``), so they do not depend on the process umask:
directories 0700, files 0600.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
#: The name ending of a file still being written; never read, removed after a crash.
PARTIAL_SUFFIX = ".partial"


def private_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents as 0700 directories; tighten ``path`` if it
    exists already. Returns ``path``."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    for created in missing:
        os.chmod(created, PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if it does not exist, and make it 0600 either way."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)
    return path


def write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write`` on a private temporary file beside ``path``, sync it, rename it over,
    then sync the directory so that the new name itself survives a crash: the result is a
    0600 file in a 0700 directory."""
    private_dir(path.parent)
    fd, partial = tempfile.mkstemp(dir=path.parent, suffix=PARTIAL_SUFFIX)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def changed_at(path: Path) -> float:
    """When ``path``'s content or links last changed (seconds since the epoch); infinity when
    it is gone. A hard link made to an old file counts as a change."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return float("inf")
    return max(status.st_mtime, status.st_ctime)
