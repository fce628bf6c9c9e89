"""A user's workspace: apps, the inputs stored in them, and the jobs that added them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from clarion.domain.values import Concept, InputKind, RawInput


@dataclass(frozen=True)
class App:
    user_id: str
    app_id: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class StoredInput:
    """An input kept in an app: its text, or the file holding its image bytes, with labels.

    ``concepts`` maps a concept id to its label, 1.0 (positive) or 0.0 (negative).
    """

    input_id: str
    kind: InputKind
    text: str | None
    file: str | None
    concepts: Mapping[str, float]
    created_at: datetime
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    dataset_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class NewInput:
    """An input to store: its payload as it arrived, its labels (a concept's ``value`` is
    1 or 0) and metadata, and the datasets of the app it joins."""

    raw: RawInput
    labels: tuple[Concept, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    dataset_ids: tuple[str, ...] = ()


class PatchAction(StrEnum):
    """How an input patch's labels and metadata meet the stored ones."""

    MERGE = "merge"
    OVERWRITE = "overwrite"
    REMOVE = "remove"

    @classmethod
    def named(cls, value: str) -> PatchAction | None:
        """The action ``value`` names (merge when empty), or None when it names none."""
        try:
            return cls(value or cls.MERGE)
        except ValueError:
            return None


@dataclass(frozen=True)
class InputPatch:
    """New labels and metadata for one stored input."""

    input_id: str
    labels: tuple[Concept, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def applied(
        self, action: PatchAction, concepts: Mapping[str, float], metadata: Mapping[str, Any]
    ) -> tuple[dict[str, float], dict[str, Any]]:
        """The input's labels and metadata once this patch is applied to the stored ones.

        ``merge`` adds and replaces, ``remove`` drops the named labels and metadata keys,
        ``overwrite`` replaces the labels, and the metadata when the patch carries some.
        """
        given = {c.id: c.value for c in self.labels}
        if action is PatchAction.OVERWRITE:
            return given, dict(self.metadata or metadata)
        if action is PatchAction.REMOVE:
            return (
                {k: v for k, v in concepts.items() if k not in given},
                {k: v for k, v in metadata.items() if k not in self.metadata},
            )
        return {**concepts, **given}, {**metadata, **self.metadata}


@dataclass(frozen=True)
class InputsAddJob:
    """What the PostInputs calls naming one job id stored, and how many inputs failed."""

    job_id: str
    succeeded: int
    failed: int
    created_at: datetime
