"""The registry's user workspace: apps, stored inputs, custom models and training state.

Mixed into :class:`Registry`; every method is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from clarion.registry.records import ModelRecord
from clarion.registry.schema import (
    AppRow,
    ConceptRow,
    InputRow,
    ModelConfigRow,
    ModelRow,
    ModelVersionRow,
    TrainingRow,
)


@dataclass(frozen=True)
class AppRecord:
    user_id: str
    app_id: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class InputRecord:
    input_id: str
    kind: str
    text: str | None
    file: str | None
    concepts: dict[str, float]
    created_at: datetime


@dataclass(frozen=True)
class TrainingRecord:
    version_id: str
    status_code: int
    status_description: str
    info: dict[str, Any]
    updated_at: datetime


def _app_record(row: AppRow) -> AppRecord:
    return AppRecord(row.user_id, row.app_id, row.description, row.created_at)


def _input_record(row: InputRow) -> InputRecord:
    return InputRecord(
        row.input_id, row.kind, row.text, row.file, dict(row.concepts), row.created_at
    )


def _training_record(row: TrainingRow) -> TrainingRecord:
    return TrainingRecord(
        row.version_id, row.status_code, row.status_description, dict(row.info), row.updated_at
    )


class WorkspaceStore:
    """Apps, inputs, model configs and training rows."""

    def _session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    @staticmethod
    def _app(s: Session, user_id: str, app_id: str) -> AppRow | None:
        raise NotImplementedError

    # apps ----------------------------------------------------------------------------

    def list_apps(self, user_id: str, offset: int, limit: int) -> list[AppRecord]:
        with self._session() as s:
            rows = s.scalars(
                select(AppRow)
                .where(AppRow.user_id == user_id)
                .order_by(AppRow.app_id)
                .offset(offset)
                .limit(limit)
            )
            return [_app_record(r) for r in rows]

    def get_app(self, user_id: str, app_id: str) -> AppRecord | None:
        with self._session() as s:
            row = self._app(s, user_id, app_id)
            return None if row is None else _app_record(row)

    def delete_app(self, user_id: str, app_id: str) -> tuple[list[str], list[str]]:
        """Delete an app with its inputs, models and versions; returns the input files and
        the version ids (whose artefacts go), to remove after the commit."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return [], []
            files = [
                f for f in s.scalars(select(InputRow.file).where(InputRow.app_pk == app.pk)) if f
            ]
            models = list(s.scalars(select(ModelRow.pk).where(ModelRow.app_pk == app.pk)))
            versions = list(
                s.scalars(select(ModelVersionRow.id).where(ModelVersionRow.model_pk.in_(models)))
            )
            for model_pk in models:
                self._delete_model_rows(s, model_pk)
            s.execute(delete(InputRow).where(InputRow.app_pk == app.pk))
            s.delete(app)
            return files, versions

    # inputs --------------------------------------------------------------------------

    def add_inputs(self, user_id: str, app_id: str, inputs: Sequence[InputRecord]) -> list[str]:
        """Store inputs; returns the ids that already existed (and were left unchanged)."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            assert app is not None
            ids = [i.input_id for i in inputs]
            existing = set(
                s.scalars(
                    select(InputRow.input_id).where(
                        InputRow.app_pk == app.pk, InputRow.input_id.in_(ids)
                    )
                )
            )
            s.add_all(
                InputRow(
                    app_pk=app.pk,
                    input_id=i.input_id,
                    kind=i.kind,
                    text=i.text,
                    file=i.file,
                    concepts=i.concepts,
                )
                for i in inputs
                if i.input_id not in existing
            )
            return sorted(existing)

    def list_inputs(
        self, user_id: str, app_id: str, offset: int = 0, limit: int | None = None,
        ids: Sequence[str] = (),
    ) -> list[InputRecord]:  # fmt: skip
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return []
            query = select(InputRow).where(InputRow.app_pk == app.pk)
            if ids:
                query = query.where(InputRow.input_id.in_(list(ids)))
            query = query.order_by(InputRow.created_at.desc(), InputRow.pk.desc()).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            return [_input_record(r) for r in s.scalars(query)]

    def count_inputs(self, user_id: str, app_id: str) -> int:
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return 0
            count = s.scalar(select(func.count()).where(InputRow.app_pk == app.pk))
            return int(count or 0)

    def delete_inputs(self, user_id: str, app_id: str, ids: Sequence[str]) -> list[str]:
        """Delete inputs by id; returns their files (to remove after the commit)."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return []
            rows = list(
                s.scalars(
                    select(InputRow).where(
                        InputRow.app_pk == app.pk, InputRow.input_id.in_(list(ids))
                    )
                )
            )
            for row in rows:
                s.delete(row)
            return [r.file for r in rows if r.file]

    # custom models -------------------------------------------------------------------

    def set_model_config(self, model: ModelRecord, config: dict[str, Any]) -> None:
        with self._session() as s:
            row = s.get(ModelConfigRow, model.pk)
            if row is None:
                s.add(ModelConfigRow(model_pk=model.pk, config=config))
            else:
                row.config = config

    def model_config(self, model: ModelRecord) -> dict[str, Any]:
        with self._session() as s:
            row = s.get(ModelConfigRow, model.pk)
            return {} if row is None else dict(row.config)

    def delete_model(self, model: ModelRecord) -> list[str]:
        """Delete a model and its versions; returns the version ids (for their artefacts)."""
        with self._session() as s:
            versions = list(
                s.scalars(select(ModelVersionRow.id).where(ModelVersionRow.model_pk == model.pk))
            )
            self._delete_model_rows(s, model.pk)
            return versions

    @staticmethod
    def _delete_model_rows(s: Session, model_pk: int) -> None:
        versions = list(
            s.scalars(select(ModelVersionRow.id).where(ModelVersionRow.model_pk == model_pk))
        )
        if versions:
            s.execute(delete(ConceptRow).where(ConceptRow.version_id.in_(versions)))
            s.execute(delete(TrainingRow).where(TrainingRow.version_id.in_(versions)))
            s.execute(delete(ModelVersionRow).where(ModelVersionRow.id.in_(versions)))
        s.execute(delete(ModelConfigRow).where(ModelConfigRow.model_pk == model_pk))
        s.execute(delete(ModelRow).where(ModelRow.pk == model_pk))

    def delete_version(self, version_id: str) -> None:
        with self._session() as s:
            s.execute(delete(ConceptRow).where(ConceptRow.version_id == version_id))
            s.execute(delete(TrainingRow).where(TrainingRow.version_id == version_id))
            s.execute(delete(ModelVersionRow).where(ModelVersionRow.id == version_id))

    # training ------------------------------------------------------------------------

    def set_training(
        self, version_id: str, code: int, description: str, info: dict[str, Any] | None = None
    ) -> bool:
        """Record a version's training state; False when the version no longer exists."""
        with self._session() as s:
            if s.get(ModelVersionRow, version_id) is None:
                return False
            row = s.get(TrainingRow, version_id)
            if row is None:
                row = TrainingRow(version_id=version_id, status_code=code, info={})
                s.add(row)
            row.status_code = code
            row.status_description = description
            if info is not None:
                row.info = info
            row.updated_at = datetime.now(UTC)
            return True

    def training(self, version_id: str) -> TrainingRecord | None:
        with self._session() as s:
            row = s.get(TrainingRow, version_id)
            return None if row is None else _training_record(row)

    def input_files(self) -> set[str]:
        """Every stored input's file path (to tell leftovers of a crash from live files)."""
        with self._session() as s:
            return {f for f in s.scalars(select(InputRow.file)) if f}

    def version_ids(self) -> set[str]:
        with self._session() as s:
            return set(s.scalars(select(ModelVersionRow.id)))

    def unfinished_trainings(self, codes: Sequence[int]) -> Iterator[str]:
        with self._session() as s:
            return iter(
                list(
                    s.scalars(
                        select(TrainingRow.version_id).where(
                            TrainingRow.status_code.in_(list(codes))
                        )
                    )
                )
            )
