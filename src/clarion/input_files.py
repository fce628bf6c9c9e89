"""Stored input bytes (images) under ``<files dir>/inputs``, written atomically.

A file is written (and synced) before its registry row is committed, and removed after the
row is deleted, so a crash can only leave files that no row names; :meth:`InputFiles.sweep`
removes those at the next start."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from clarion.atomic import PARTIAL_SUFFIX, changed_at, write_atomically

log = logging.getLogger(__name__)


class InputFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, user_id: str, app_id: str, input_id: str) -> Path:
        name = hashlib.sha256(f"{user_id}/{app_id}/{input_id}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.bin"

    def write(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` so that readers see all of it or nothing."""
        write_atomically(path, lambda f: f.write(data))

    def remove(self, paths: list[str]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)

    def sweep(self, referenced: set[str], keep_changed_since: float = float("inf")) -> int:
        """Remove files that no stored input names (``referenced``: their paths), and
        unfinished writes; returns how many. Names are compared, not whole paths, so a
        home directory that was moved keeps its files. Files changed at or after
        ``keep_changed_since`` (seconds since the epoch) are kept: another server sharing
        the directory may be writing them, its rows not yet committed."""
        if not self.root.is_dir():
            return 0
        names = {Path(p).name for p in referenced}
        removed = 0
        for path in self.root.glob("*/*"):
            if changed_at(path) >= keep_changed_since:
                continue
            if path.suffix == PARTIAL_SUFFIX or (path.suffix == ".bin" and path.name not in names):
                path.unlink(missing_ok=True)
                removed += 1
        if removed:
            log.info("removed %d input files left by an interrupted write or delete", removed)
        return removed
