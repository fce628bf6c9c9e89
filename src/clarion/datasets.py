"""Dataset versions: a dataset's inputs and labels frozen for training.

A version copies what it needs: the texts and labels go into its registry row, the image
bytes are hard-linked (or copied) under ``$CLARION_HOME/dataset-versions/<id>/``, so deleting
or relabelling inputs later never changes a version, nor a model trained on it.

    versions = DatasetVersions(registry, settings.home / "dataset-versions")
    frozen = versions.create("alice", "news", "articles", "first cut")
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from dataclasses import replace
from pathlib import Path

from clarion.atomic import private_dir, write_atomically
from clarion.errors import InvalidRequest, ResourceNotFound
from clarion.registry import Registry
from clarion.registry.datasets import DatasetVersionRecord

#: The most inputs one dataset version freezes.
MAX_VERSION_INPUTS = 50_000


class DatasetVersions:
    def __init__(self, registry: Registry, root: Path) -> None:
        self._registry = registry
        self._root = root

    def create(
        self, user_id: str, app_id: str, dataset_id: str, description: str = ""
    ) -> DatasetVersionRecord:
        try:  # one over the limit is enough to know the dataset is too large
            records = self._registry.list_dataset_inputs(
                user_id, app_id, dataset_id, limit=MAX_VERSION_INPUTS + 1
            )
        except KeyError:
            raise ResourceNotFound(
                f"Dataset {dataset_id!r} does not exist in app {user_id}/{app_id}."
            ) from None
        if len(records) > MAX_VERSION_INPUTS:
            raise InvalidRequest(
                f"A dataset version holds at most {MAX_VERSION_INPUTS} inputs; dataset "
                f"{dataset_id} has more."
            )
        version_id = uuid.uuid4().hex
        folder = self._root / version_id
        frozen = []
        try:
            for record in records:
                if record.file is not None:
                    record = replace(record, file=str(self._freeze(Path(record.file), folder)))
                frozen.append(record)
            return self._registry.add_dataset_version(
                user_id, app_id, dataset_id, version_id, description, frozen
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    @staticmethod
    def _freeze(source: Path, folder: Path) -> Path:
        """A hard link to ``source`` in ``folder`` (a private copy where linking fails)."""
        private_dir(folder)
        target = folder / f"{hashlib.sha256(str(source).encode()).hexdigest()}.bin"
        try:
            os.link(source, target)
        except OSError:
            with source.open("rb") as original:
                write_atomically(target, lambda f: shutil.copyfileobj(original, f))
        return target

    def remove_files(self, files: list[str]) -> None:
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
