"""Rows onto domain values: what the registry hands out is never a row, nor holds a key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clarion.domain.models import Model, ModelVersion, TrainingMetrics, TrainingState
from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import Concept, InputKind
from clarion.domain.workspace import App, StoredInput
from clarion.errors import StatusCode
from clarion.registry.schema import (
    AppRow,
    InputMetadataRow,
    InputRow,
    ModelRow,
    ModelVersionRow,
    TrainingRow,
    VersionScalingRow,
)


def model(row: ModelRow) -> Model:
    return Model(
        user_id=row.app.user_id,
        app_id=row.app.app_id,
        model_id=row.model_id,
        model_type_id=row.model_type_id,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
    )


def version(
    row: ModelVersionRow, model_id: str, *, trained: bool, scaling: ScalingSettings | None = None
) -> ModelVersion:
    """``trained``: the version has a training row (it was made by training)."""
    kind = row.spec.get("kind")
    return ModelVersion(
        id=row.id,
        model_id=model_id,
        description=row.description,
        created_at=row.created_at,
        runner=row.runner,
        spec=dict(row.spec),
        input_kind=InputKind(kind) if kind else None,
        trained=trained,
        scaling=scaling,
    )


def versions(s: Session, rows: Sequence[ModelVersionRow], model_id: str) -> list[ModelVersion]:
    ids = [r.id for r in rows]
    if not ids:
        return []
    trained = set(s.scalars(select(TrainingRow.version_id).where(TrainingRow.version_id.in_(ids))))
    scaled = {
        r.version_id: scaling_settings(r.settings)
        for r in s.scalars(select(VersionScalingRow).where(VersionScalingRow.version_id.in_(ids)))
    }
    return [version(r, model_id, trained=r.id in trained, scaling=scaled.get(r.id)) for r in rows]


def scaling_settings(stored: dict[str, Any]) -> ScalingSettings:
    """Stored settings as a value (fields unknown to this version of Clarion are ignored)."""
    names = ScalingSettings.field_names()
    return ScalingSettings(**{k: v for k, v in stored.items() if k in names})


def training(row: TrainingRow) -> TrainingState:
    info: dict[str, Any] = dict(row.info)
    metrics = info.get("metrics")
    return TrainingState(
        version_id=row.version_id,
        status=StatusCode(row.status_code),
        description=row.status_description,
        updated_at=row.updated_at,
        input_ids=tuple(info.get("inputs", ())),
        metrics=TrainingMetrics.from_json(metrics) if metrics else None,
        report=info,
    )


def app(row: AppRow) -> App:
    return App(row.user_id, row.app_id, row.description, row.created_at)


def model_concepts(config: dict[str, Any]) -> list[Concept]:
    """A custom model's configured concepts (stored as ``{"concepts": [{id, name}]}``)."""
    return [Concept(c["id"], c.get("name") or c["id"]) for c in config.get("concepts", [])]


def stored_input(row: InputRow, metadata: dict[str, Any] | None = None) -> StoredInput:
    return StoredInput(
        row.input_id, InputKind(row.kind), row.text, row.file, dict(row.concepts),
        row.created_at, dict(metadata or {}),
    )  # fmt: skip


def stored_inputs(s: Session, rows: Sequence[InputRow]) -> list[StoredInput]:
    pks = [r.pk for r in rows]
    metadata = {
        m.input_pk: m.metadata_
        for m in s.scalars(select(InputMetadataRow).where(InputMetadataRow.input_pk.in_(pks)))
    } if pks else {}  # fmt: skip
    return [stored_input(r, metadata.get(r.pk)) for r in rows]


def model_pk(s: Session, found: Model) -> int | None:
    """The key of the model's row (None once it was deleted)."""
    pk: int | None = s.scalar(
        select(ModelRow.pk)
        .join(AppRow)
        .where(
            AppRow.user_id == found.user_id,
            AppRow.app_id == found.app_id,
            ModelRow.model_id == found.model_id,
        )
    )
    return pk
