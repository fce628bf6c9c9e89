"""The registry's user workspace: apps, stored inputs, custom models and training state.

Mixed into :class:`Registry`; every method is one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from clarion.domain.models import Model, TrainingState
from clarion.domain.values import Concept
from clarion.domain.workspace import App, InputPatch, InputsAddJob, PatchAction, StoredInput
from clarion.registry import mapping
from clarion.registry.schema import (
    AppConceptRow,
    AppRow,
    ConceptRow,
    DatasetInputRow,
    DatasetRow,
    DatasetVersionRow,
    InputJobRow,
    InputMetadataRow,
    InputRow,
    ModelConfigRow,
    ModelRow,
    ModelVersionRow,
    TrainingOwnerRow,
    TrainingRow,
    VersionScalingRow,
)


class WorkspaceStore:
    """Apps, inputs, model configs and training rows."""

    def _session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    @staticmethod
    def _app(s: Session, user_id: str, app_id: str) -> AppRow | None:
        raise NotImplementedError

    # apps ----------------------------------------------------------------------------

    def list_apps(self, user_id: str, offset: int, limit: int) -> list[App]:
        with self._session() as s:
            rows = s.scalars(
                select(AppRow)
                .where(AppRow.user_id == user_id)
                .order_by(AppRow.app_id)
                .offset(offset)
                .limit(limit)
            )
            return [mapping.app(r) for r in rows]

    def get_app(self, user_id: str, app_id: str) -> App | None:
        with self._session() as s:
            row = self._app(s, user_id, app_id)
            return None if row is None else mapping.app(row)

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
            datasets = list(s.scalars(select(DatasetRow.pk).where(DatasetRow.app_pk == app.pk)))
            files += self._delete_dataset_rows(s, datasets)
            inputs = select(InputRow.pk).where(InputRow.app_pk == app.pk)
            s.execute(delete(InputMetadataRow).where(InputMetadataRow.input_pk.in_(inputs)))
            s.execute(delete(InputRow).where(InputRow.app_pk == app.pk))
            s.execute(delete(AppConceptRow).where(AppConceptRow.app_pk == app.pk))
            s.execute(delete(InputJobRow).where(InputJobRow.app_pk == app.pk))
            s.delete(app)
            return files, versions

    @staticmethod
    def _delete_dataset_rows(s: Session, dataset_pks: Sequence[int]) -> list[str]:
        """Delete datasets with their versions; returns the versions' files."""
        if not dataset_pks:
            return []
        versions = list(
            s.scalars(
                select(DatasetVersionRow).where(DatasetVersionRow.dataset_pk.in_(dataset_pks))
            )
        )
        files = [e["file"] for v in versions for e in v.snapshot if e.get("file")]
        for version in versions:
            s.delete(version)
        s.execute(delete(DatasetInputRow).where(DatasetInputRow.dataset_pk.in_(dataset_pks)))
        s.execute(delete(DatasetRow).where(DatasetRow.pk.in_(dataset_pks)))
        return files

    # inputs --------------------------------------------------------------------------

    def add_inputs(
        self, user_id: str, app_id: str, inputs: Sequence[StoredInput],
        concept_names: Mapping[str, str] | None = None,
    ) -> list[str]:  # fmt: skip
        """Store inputs, all or none: returns the ids that already exist (nothing is stored
        then). Concepts they are labelled with join the app's concepts (named by
        ``concept_names``, else by their id); ``dataset_ids`` must name existing datasets of
        the app (a missing one raises ``KeyError``)."""
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
            if existing:
                return sorted(existing)
            wanted = {d for i in inputs for d in i.dataset_ids}
            datasets = {
                r.dataset_id: r.pk
                for r in s.scalars(
                    select(DatasetRow).where(
                        DatasetRow.app_pk == app.pk, DatasetRow.dataset_id.in_(list(wanted))
                    )
                )
            } if wanted else {}  # fmt: skip
            missing = sorted(wanted - set(datasets))
            if missing:
                raise KeyError(", ".join(missing))
            for record in inputs:
                row = InputRow(
                    app_pk=app.pk, input_id=record.input_id, kind=record.kind.value,
                    text=record.text, file=record.file, concepts=dict(record.concepts),
                )  # fmt: skip
                s.add(row)
                s.flush()
                if record.metadata:
                    s.add(InputMetadataRow(input_pk=row.pk, metadata_=dict(record.metadata)))
                s.add_all(
                    DatasetInputRow(dataset_pk=datasets[d], input_pk=row.pk)
                    for d in dict.fromkeys(record.dataset_ids)
                )
            names = dict(concept_names or {})
            for record in inputs:
                for concept_id in record.concepts:
                    names.setdefault(concept_id, concept_id)
            self._ensure_concepts(s, app.pk, names)
            return []

    @staticmethod
    def _ensure_concepts(s: Session, app_pk: int, names: Mapping[str, str]) -> None:
        if not names:
            return
        known = set(
            s.scalars(
                select(AppConceptRow.concept_id).where(
                    AppConceptRow.app_pk == app_pk, AppConceptRow.concept_id.in_(list(names))
                )
            )
        )
        s.add_all(
            AppConceptRow(app_pk=app_pk, concept_id=c, name=n)
            for c, n in names.items()
            if c not in known
        )

    def list_inputs(
        self, user_id: str, app_id: str, offset: int = 0, limit: int | None = None,
        ids: Sequence[str] = (),
    ) -> list[StoredInput]:  # fmt: skip
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
            return mapping.stored_inputs(s, list(s.scalars(query)))

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
            pks = [r.pk for r in rows]
            if pks:
                s.execute(delete(InputMetadataRow).where(InputMetadataRow.input_pk.in_(pks)))
                s.execute(delete(DatasetInputRow).where(DatasetInputRow.input_pk.in_(pks)))
            for row in rows:
                s.delete(row)
            return [r.file for r in rows if r.file]

    def patch_inputs(
        self, user_id: str, app_id: str, patches: Sequence[InputPatch], action: PatchAction,
        concept_names: Mapping[str, str] | None = None,
    ) -> list[StoredInput]:  # fmt: skip
        """Apply patches to inputs' labels and metadata (:meth:`InputPatch.applied`), all or
        none; a missing input id raises ``KeyError``. Labels a merge or an overwrite brings
        join the app's concepts (named by ``concept_names``, else by their id). Returns the
        inputs as they are now."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            assert app is not None
            ids = [p.input_id for p in patches]
            rows = {
                r.input_id: r
                for r in s.scalars(
                    select(InputRow).where(InputRow.app_pk == app.pk, InputRow.input_id.in_(ids))
                )
            }
            missing = [i for i in ids if i not in rows]
            if missing:
                raise KeyError(", ".join(missing))
            for patch in patches:
                row = rows[patch.input_id]
                meta = s.get(InputMetadataRow, row.pk)
                current = dict(meta.metadata_) if meta is not None else {}
                row.concepts, metadata = patch.applied(action, row.concepts, current)
                if meta is None:
                    s.add(InputMetadataRow(input_pk=row.pk, metadata_=metadata))
                else:
                    meta.metadata_ = metadata
            names = dict(concept_names or {})
            for patch in patches:
                for concept in patch.labels:
                    names.setdefault(concept.id, concept.id)
            if action is not PatchAction.REMOVE:
                self._ensure_concepts(s, app.pk, names)
            s.flush()
            return mapping.stored_inputs(s, [rows[i] for i in ids])

    # input jobs ----------------------------------------------------------------------

    def record_input_job(
        self, user_id: str, app_id: str, job_id: str, succeeded: int, failed: int
    ) -> None:
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return
            row = s.scalar(
                select(InputJobRow).where(
                    InputJobRow.app_pk == app.pk, InputJobRow.job_id == job_id
                )
            )
            if row is None:
                s.add(InputJobRow(app_pk=app.pk, job_id=job_id, succeeded=succeeded, failed=failed))
            else:
                row.succeeded += succeeded
                row.failed += failed

    def input_job(self, user_id: str, app_id: str, job_id: str) -> InputsAddJob | None:
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return None
            row = s.scalar(
                select(InputJobRow).where(
                    InputJobRow.app_pk == app.pk, InputJobRow.job_id == job_id
                )
            )
            if row is None:
                return None
            return InputsAddJob(row.job_id, row.succeeded, row.failed, row.created_at)

    # app concepts --------------------------------------------------------------------

    def backfill_concepts(self) -> int:
        """Give apps made before app concepts existed the concepts their inputs carry (once:
        only while no app has any concept yet). Returns how many were added."""
        with self._session() as s:
            if s.scalar(select(AppConceptRow.pk).limit(1)) is not None:
                return 0
            found: dict[int, dict[str, str]] = {}
            for app_pk, concepts in s.execute(select(InputRow.app_pk, InputRow.concepts)):
                found.setdefault(app_pk, {}).update({c: c for c in concepts})
            for app_pk, names in found.items():
                self._ensure_concepts(s, app_pk, names)
            return sum(len(n) for n in found.values())

    def add_concepts(self, user_id: str, app_id: str, concepts: Sequence[Concept]) -> list[str]:
        """Add concepts to an app, all or none: returns the ids that already exist."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            assert app is not None
            existing = sorted(
                s.scalars(
                    select(AppConceptRow.concept_id).where(
                        AppConceptRow.app_pk == app.pk,
                        AppConceptRow.concept_id.in_([c.id for c in concepts]),
                    )
                )
            )
            if not existing:
                s.add_all(
                    AppConceptRow(app_pk=app.pk, concept_id=c.id, name=c.name) for c in concepts
                )
            return existing

    def list_concepts(
        self, user_id: str, app_id: str, offset: int = 0, limit: int | None = None,
        ids: Sequence[str] = (),
    ) -> list[Concept]:  # fmt: skip
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return []
            query = select(AppConceptRow).where(AppConceptRow.app_pk == app.pk)
            if ids:
                query = query.where(AppConceptRow.concept_id.in_(list(ids)))
            query = query.order_by(AppConceptRow.concept_id).offset(offset)
            if limit is not None:
                query = query.limit(limit)
            return [Concept(r.concept_id, r.name) for r in s.scalars(query)]

    def rename_concepts(self, user_id: str, app_id: str, names: dict[str, str]) -> list[str]:
        """Rename concepts, all or none: returns the ids that do not exist."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            assert app is not None
            rows = {
                r.concept_id: r
                for r in s.scalars(
                    select(AppConceptRow).where(
                        AppConceptRow.app_pk == app.pk, AppConceptRow.concept_id.in_(list(names))
                    )
                )
            }
            missing = sorted(set(names) - set(rows))
            if not missing:
                for concept_id, name in names.items():
                    rows[concept_id].name = name
            return missing

    # custom models -------------------------------------------------------------------

    def set_model_concepts(self, model: Model, concepts: Sequence[Concept]) -> None:
        """The concepts a custom model is configured to learn (its own, before training)."""
        config = {"concepts": [{"id": c.id, "name": c.name} for c in concepts]}
        with self._session() as s:
            model_pk = mapping.model_pk(s, model)
            if model_pk is None:
                return
            row = s.get(ModelConfigRow, model_pk)
            if row is None:
                s.add(ModelConfigRow(model_pk=model_pk, config=config))
            else:
                row.config = config

    def model_concepts(self, model: Model) -> list[Concept]:
        with self._session() as s:
            model_pk = mapping.model_pk(s, model)
            row = None if model_pk is None else s.get(ModelConfigRow, model_pk)
            return [] if row is None else mapping.model_concepts(row.config)

    def delete_model(self, model: Model) -> list[str]:
        """Delete a model and its versions; returns the version ids (for their artefacts)."""
        with self._session() as s:
            model_pk = mapping.model_pk(s, model)
            if model_pk is None:
                return []
            versions = list(
                s.scalars(select(ModelVersionRow.id).where(ModelVersionRow.model_pk == model_pk))
            )
            self._delete_model_rows(s, model_pk)
            return versions

    @staticmethod
    def _delete_model_rows(s: Session, model_pk: int) -> None:
        versions = list(
            s.scalars(select(ModelVersionRow.id).where(ModelVersionRow.model_pk == model_pk))
        )
        if versions:
            s.execute(delete(ConceptRow).where(ConceptRow.version_id.in_(versions)))
            s.execute(delete(TrainingRow).where(TrainingRow.version_id.in_(versions)))
            s.execute(delete(TrainingOwnerRow).where(TrainingOwnerRow.version_id.in_(versions)))
            s.execute(delete(VersionScalingRow).where(VersionScalingRow.version_id.in_(versions)))
            s.execute(delete(ModelVersionRow).where(ModelVersionRow.id.in_(versions)))
        s.execute(delete(ModelConfigRow).where(ModelConfigRow.model_pk == model_pk))
        s.execute(delete(ModelRow).where(ModelRow.pk == model_pk))

    def delete_version(self, version_id: str) -> None:
        with self._session() as s:
            s.execute(delete(ConceptRow).where(ConceptRow.version_id == version_id))
            s.execute(delete(TrainingRow).where(TrainingRow.version_id == version_id))
            s.execute(delete(TrainingOwnerRow).where(TrainingOwnerRow.version_id == version_id))
            s.execute(delete(VersionScalingRow).where(VersionScalingRow.version_id == version_id))
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

    def training(self, version_id: str) -> TrainingState | None:
        with self._session() as s:
            row = s.get(TrainingRow, version_id)
            return None if row is None else mapping.training(row)

    def input_files(self) -> set[str]:
        """Every stored input's file path (to tell leftovers of a crash from live files)."""
        with self._session() as s:
            return {f for f in s.scalars(select(InputRow.file)) if f}

    def version_ids(self) -> set[str]:
        with self._session() as s:
            return set(s.scalars(select(ModelVersionRow.id)))
