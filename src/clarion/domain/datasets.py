"""Datasets: named sets of an app's inputs, and the versions that freeze them for training."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from clarion.domain.workspace import StoredInput

#: A label at least this high marks its concept as present (1 is positive, 0 negative).
POSITIVE = 0.5


@dataclass(frozen=True)
class NewDataset:
    dataset_id: str
    description: str = ""


@dataclass(frozen=True)
class Dataset:
    user_id: str
    app_id: str
    dataset_id: str
    description: str
    created_at: datetime
    input_count: int


@dataclass(frozen=True)
class DatasetVersion:
    """A dataset's inputs and labels as they were when the version was made."""

    id: str
    user_id: str
    app_id: str
    dataset_id: str
    description: str
    created_at: datetime
    snapshot: tuple[StoredInput, ...]

    @property
    def unlabelled_count(self) -> int:
        """How many of its inputs carry no positive label."""
        return sum(1 for i in self.snapshot if not any(v >= POSITIVE for v in i.concepts.values()))

    @property
    def positive_label_count(self) -> int:
        return sum(1 for i in self.snapshot for v in i.concepts.values() if v >= POSITIVE)
