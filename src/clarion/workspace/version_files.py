"""The files of frozen dataset versions.

A version keeps its own image bytes: they are hard-linked (or copied) under
``$CLARION_HOME/dataset-versions/<id>/``, so deleting or relabelling inputs later never
changes a version, nor a model trained on it.

    files = VersionFiles(settings.home / "dataset-versions")
    frozen = files.freeze(version_id, inputs)
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from clarion.atomic import private_dir, write_atomically
from clarion.domain.workspace import StoredInput


class VersionFiles:
    def __init__(self, root: Path) -> None:
        self._root = root

    def freeze(self, version_id: str, inputs: Sequence[StoredInput]) -> list[StoredInput]:
        """The inputs with their files frozen for the version (all of them, or none)."""
        folder = self._root / version_id
        try:
            return [
                replace(i, file=str(self._link(Path(i.file), folder))) if i.file is not None else i
                for i in inputs
            ]
        except BaseException:
            self.discard(version_id)
            raise

    def discard(self, version_id: str) -> None:
        """Remove what :meth:`freeze` wrote for a version that was not stored."""
        shutil.rmtree(self._root / version_id, ignore_errors=True)

    @staticmethod
    def _link(source: Path, folder: Path) -> Path:
        """A hard link to ``source`` in ``folder`` (a private copy where linking fails)."""
        private_dir(folder)
        target = folder / f"{hashlib.sha256(str(source).encode()).hexdigest()}.bin"
        try:
            os.link(source, target)
        except OSError:
            with source.open("rb") as original:
                write_atomically(target, lambda f: shutil.copyfileobj(original, f))
        return target

    def remove(self, files: Iterable[str]) -> None:
        """Remove deleted files (inputs' or versions'), and versions' folders once empty."""
        folders = set()
        for name in files:
            path = Path(name)
            path.unlink(missing_ok=True)
            folders.add(path.parent)
        for folder in folders:
            if folder.parent == self._root:
                with contextlib.suppress(OSError):
                    folder.rmdir()
