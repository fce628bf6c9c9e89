"""Models, their immutable versions and what training a version produced.

The registry maps its rows onto these values; nothing above it sees a row or a key.

    model = Model("alice", "news", "topics", "embedding-classifier", "Topics", "", created)
    version = directory.resolve(principal, ModelRef.of("alice", "news", "topics"))[1]
    version.input_kind          # InputKind.TEXT for a version trained on texts
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import InputKind
from clarion.errors import StatusCode


@dataclass(frozen=True)
class Model:
    """A model in a user's app (the built-in ones are in ``clarion/main``)."""

    user_id: str
    app_id: str
    model_id: str
    model_type_id: str
    name: str
    description: str
    created_at: datetime

    @property
    def path(self) -> str:
        return f"{self.user_id}/{self.app_id}/models/{self.model_id}"


@dataclass(frozen=True)
class ModelVersion:
    """One immutable version of a model.

    ``runner`` (the runner family) and ``spec`` (its settings) say how the runtime builds
    the version's runner; no other layer reads them.
    """

    id: str
    model_id: str
    description: str
    created_at: datetime
    runner: str
    spec: Mapping[str, Any] = field(hash=False, repr=False)
    #: What a trained version consumes; None for a built-in one (its model type says).
    input_kind: InputKind | None = None
    #: Made by training: it has a :class:`TrainingState` (built-in versions have none).
    trained: bool = False
    #: How it scales on a cluster, when someone set it (else the family's defaults).
    scaling: ScalingSettings | None = None


@dataclass(frozen=True)
class ConceptMetrics:
    """Held-out scores of one concept; ``positives`` counts its positive examples."""

    precision: float
    recall: float
    positives: int


@dataclass(frozen=True)
class TrainingMetrics:
    """Held-out metrics of a trained version (from cross-validation).

    ``accuracy`` is the share of inputs whose every concept was guessed right.
    """

    accuracy: float
    per_concept: Mapping[str, ConceptMetrics]
    method: str

    @property
    def macro_precision(self) -> float:
        return _mean([m.precision for m in self.per_concept.values()])

    @property
    def macro_recall(self) -> float:
        return _mean([m.recall for m in self.per_concept.values()])

    def to_json(self) -> dict[str, Any]:
        return {
            "accuracy": self.accuracy,
            "per_concept": {
                concept_id: {"precision": m.precision, "recall": m.recall, "positives": m.positives}
                for concept_id, m in self.per_concept.items()
            },
            "method": self.method,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> TrainingMetrics:
        return cls(
            accuracy=float(value["accuracy"]),
            per_concept={
                concept_id: ConceptMetrics(
                    float(m["precision"]), float(m["recall"]), int(m["positives"])
                )
                for concept_id, m in value["per_concept"].items()
            },
            method=str(value.get("method", "")),
        )


@dataclass(frozen=True)
class TrainingState:
    """Where a trained version's training stands: queued, training, trained or failed."""

    version_id: str
    status: StatusCode
    description: str
    updated_at: datetime
    #: The inputs it learns from, fixed when the training was asked for.
    input_ids: tuple[str, ...] = ()
    #: Set once trained.
    metrics: TrainingMetrics | None = None
    #: The training's whole record (inputs, concepts, base model, hyperparameters,
    #: metrics), as JSON, for the version's ``metadata``.
    report: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def ready(self) -> bool:
        return self.status == StatusCode.MODEL_TRAINED


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0
