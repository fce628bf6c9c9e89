"""Datasets: named sets of an app's inputs, and the versions that freeze them for training.

Same rules as the rest of the workspace: a user sees and changes only their own apps, and
``clarion/main`` is read-only. A version copies what it needs (the texts and labels into its
registry row, the image bytes through :class:`VersionFiles`), so it never changes afterwards.

    datasets.create_datasets(principal, "me", "news", [NewDataset("articles")])
    version = await datasets.create_version(principal, "me", "news", "articles", "first cut")
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from clarion.auth import Principal
from clarion.directory import ModelDirectory
from clarion.domain.datasets import Dataset, DatasetVersion, NewDataset
from clarion.domain.workspace import StoredInput
from clarion.errors import InvalidRequest, ResourceNotFound
from clarion.registry import Page, Registry
from clarion.workspace.bounds import (
    MAX_DESCRIPTION,
    MAX_INPUTS_PER_REQUEST,
    bounded_ids,
    bounded_text,
    checked_id,
)
from clarion.workspace.version_files import VersionFiles

MAX_DATASETS_PER_REQUEST = 128
MAX_DATASET_DESCRIPTION = 1000
#: The most inputs one dataset version freezes.
MAX_VERSION_INPUTS = 50_000


class DatasetService:
    """An app's datasets, their inputs and their frozen versions, on behalf of a principal."""

    def __init__(
        self, registry: Registry, directory: ModelDirectory, version_files: VersionFiles
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._version_files = version_files

    # datasets ------------------------------------------------------------------------

    def create_datasets(
        self, principal: Principal, user_id: str, app_id: str, datasets: Sequence[NewDataset]
    ) -> list[Dataset]:
        """Create datasets, all or none."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        if not 1 <= len(datasets) <= MAX_DATASETS_PER_REQUEST:
            raise InvalidRequest(
                f"PostDatasets takes 1 to {MAX_DATASETS_PER_REQUEST} datasets, got {len(datasets)}."
            )
        for dataset in datasets:
            checked_id("dataset", dataset.dataset_id)
            bounded_text(dataset.description, "A dataset's description", MAX_DATASET_DESCRIPTION)
        taken = self._registry.add_datasets(user_id, app_id, datasets)
        if taken:
            raise InvalidRequest(
                f"These datasets already exist in {user_id}/{app_id} or repeat in the "
                f"request: {', '.join(taken)}; nothing was created."
            )
        return [self._dataset(user_id, app_id, d.dataset_id) for d in datasets]

    def list_datasets(
        self, principal: Principal, user_id: str, app_id: str, page: Page
    ) -> list[Dataset]:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._registry.list_datasets(user_id, app_id, page.offset, page.limit)

    def get_dataset(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str
    ) -> Dataset:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._dataset(user_id, app_id, dataset_id)

    def delete_datasets(
        self, principal: Principal, user_id: str, app_id: str, dataset_ids: Sequence[str]
    ) -> None:
        """Delete datasets with their versions, all or none; their inputs stay in the app."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        ids = bounded_ids(dataset_ids, "dataset")
        try:
            files = self._registry.delete_datasets(user_id, app_id, ids)
        except KeyError as missing:
            raise ResourceNotFound(
                f"Dataset {missing.args[0]!r} does not exist in {user_id}/{app_id}; "
                "nothing was deleted."
            ) from None
        self._version_files.remove(files)

    # dataset inputs ------------------------------------------------------------------

    def add_dataset_inputs(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str,
        input_ids: Sequence[str],
    ) -> list[StoredInput]:  # fmt: skip
        """Add inputs of the app to a dataset, all or none; the answer holds them."""
        user_id, app_id = self._writable_dataset(principal, user_id, app_id, dataset_id)
        ids = list(input_ids)
        if not 1 <= len(ids) <= MAX_INPUTS_PER_REQUEST or not all(ids):
            raise InvalidRequest(
                f"PostDatasetInputs takes 1 to {MAX_INPUTS_PER_REQUEST} dataset_inputs, each "
                "naming an input id of the app."
            )
        missing = self._registry.add_dataset_inputs(user_id, app_id, dataset_id, ids)
        if missing:
            raise ResourceNotFound(
                f"These inputs do not exist in {user_id}/{app_id}: {', '.join(missing)}; "
                "nothing was added."
            )
        return self._registry.list_inputs(user_id, app_id, ids=ids)

    def list_dataset_inputs(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str, page: Page
    ) -> list[StoredInput]:
        user_id, app_id = self._readable_dataset(principal, user_id, app_id, dataset_id)
        return self._registry.list_dataset_inputs(
            user_id, app_id, dataset_id, page.offset, page.limit
        )

    def remove_dataset_inputs(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str,
        input_ids: Sequence[str],
    ) -> None:  # fmt: skip
        """Take inputs out of a dataset (they stay in the app)."""
        user_id, app_id = self._writable_dataset(principal, user_id, app_id, dataset_id)
        ids = bounded_ids(input_ids, "input")
        self._registry.remove_dataset_inputs(user_id, app_id, dataset_id, ids)

    # dataset versions ----------------------------------------------------------------

    async def create_version(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str,
        description: str = "",
    ) -> DatasetVersion:  # fmt: skip
        """Freeze the dataset's inputs and labels as they are now into a new version."""
        user_id, app_id = self._writable_dataset(principal, user_id, app_id, dataset_id)
        bounded_text(description, "A dataset version's description", MAX_DESCRIPTION)
        # Linking up to MAX_VERSION_INPUTS files and writing the snapshot: off the event loop.
        return await asyncio.to_thread(self._freeze, user_id, app_id, dataset_id, description)

    def _freeze(
        self, user_id: str, app_id: str, dataset_id: str, description: str
    ) -> DatasetVersion:
        try:  # one over the limit is enough to know the dataset is too large
            inputs = self._registry.list_dataset_inputs(
                user_id, app_id, dataset_id, limit=MAX_VERSION_INPUTS + 1
            )
        except KeyError:
            raise ResourceNotFound(
                f"Dataset {dataset_id!r} does not exist in app {user_id}/{app_id}."
            ) from None
        if len(inputs) > MAX_VERSION_INPUTS:
            raise InvalidRequest(
                f"A dataset version holds at most {MAX_VERSION_INPUTS} inputs; dataset "
                f"{dataset_id} has more."
            )
        version_id = uuid.uuid4().hex
        frozen = self._version_files.freeze(version_id, inputs)
        try:
            return self._registry.add_dataset_version(
                user_id, app_id, dataset_id, version_id, description, frozen
            )
        except BaseException:
            self._version_files.discard(version_id)
            raise

    def list_versions(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str, page: Page
    ) -> list[DatasetVersion]:
        user_id, app_id = self._readable_dataset(principal, user_id, app_id, dataset_id)
        return self._registry.list_dataset_versions(
            user_id, app_id, dataset_id, page.offset, page.limit
        )

    def get_version(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str, version_id: str
    ) -> DatasetVersion:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        version = self._registry.get_dataset_version(user_id, app_id, version_id)
        if version is None or version.dataset_id != dataset_id:
            raise ResourceNotFound(
                f"Dataset {dataset_id!r} of {user_id}/{app_id} has no version {version_id!r}."
            )
        return version

    def delete_versions(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str,
        version_ids: Sequence[str],
    ) -> None:  # fmt: skip
        user_id, app_id = self._writable_dataset(principal, user_id, app_id, dataset_id)
        ids = bounded_ids(version_ids, "dataset version")
        self._version_files.remove(
            self._registry.delete_dataset_versions(user_id, app_id, dataset_id, ids)
        )

    def _writable_dataset(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str
    ) -> tuple[str, str]:
        """The app of a dataset the caller may change (checked to exist)."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        self._dataset(user_id, app_id, dataset_id)
        return user_id, app_id

    def _readable_dataset(
        self, principal: Principal, user_id: str, app_id: str, dataset_id: str
    ) -> tuple[str, str]:
        """The app of a dataset the caller may read (checked to exist)."""
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        self._dataset(user_id, app_id, dataset_id)
        return user_id, app_id

    def _dataset(self, user_id: str, app_id: str, dataset_id: str) -> Dataset:
        found = self._registry.get_dataset(user_id, app_id, dataset_id)
        if found is None:
            raise ResourceNotFound(f"Dataset {dataset_id!r} does not exist in {user_id}/{app_id}.")
        return found
