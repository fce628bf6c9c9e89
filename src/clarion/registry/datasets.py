"""The registry's datasets: named sets of an app's inputs, and their frozen versions.

Mixed into :class:`Registry`; every method is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from clarion.domain.datasets import Dataset, DatasetVersion, NewDataset
from clarion.domain.values import InputKind
from clarion.domain.workspace import StoredInput
from clarion.registry import mapping
from clarion.registry.schema import (
    AppRow,
    DatasetInputRow,
    DatasetRow,
    DatasetVersionRow,
    InputRow,
)


def snapshot_entry(record: StoredInput) -> dict[str, Any]:
    return {
        "input_id": record.input_id,
        "kind": record.kind.value,
        "text": record.text,
        "file": record.file,
        "concepts": dict(record.concepts),
    }


def _from_entry(entry: dict[str, Any], created_at: datetime) -> StoredInput:
    return StoredInput(
        entry["input_id"], InputKind(entry["kind"]), entry.get("text"), entry.get("file"),
        dict(entry.get("concepts", {})), created_at,
    )  # fmt: skip


class DatasetStore:
    def _session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    @staticmethod
    def _app(s: Session, user_id: str, app_id: str) -> AppRow | None:
        raise NotImplementedError

    @staticmethod
    def _delete_dataset_rows(s: Session, dataset_pks: Sequence[int]) -> list[str]:
        raise NotImplementedError

    def _dataset(self, s: Session, user_id: str, app_id: str, dataset_id: str) -> DatasetRow:
        app = self._app(s, user_id, app_id)
        row = None
        if app is not None:
            row = s.scalar(
                select(DatasetRow).where(
                    DatasetRow.app_pk == app.pk, DatasetRow.dataset_id == dataset_id
                )
            )
        if row is None:
            raise KeyError(dataset_id)
        return row

    @staticmethod
    def _dataset_record(s: Session, user_id: str, app_id: str, row: DatasetRow) -> Dataset:
        count = s.scalar(
            select(func.count()).select_from(DatasetInputRow).where(
                DatasetInputRow.dataset_pk == row.pk
            )
        )  # fmt: skip
        return Dataset(
            user_id, app_id, row.dataset_id, row.description, row.created_at, int(count or 0)
        )

    # datasets ------------------------------------------------------------------------

    def add_datasets(self, user_id: str, app_id: str, datasets: Sequence[NewDataset]) -> list[str]:
        """Create datasets, all or none: returns the ids that already exist or repeat
        (nothing is created then)."""
        ids = [d.dataset_id for d in datasets]
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            assert app is not None
            taken = set(
                s.scalars(
                    select(DatasetRow.dataset_id).where(
                        DatasetRow.app_pk == app.pk, DatasetRow.dataset_id.in_(ids)
                    )
                )
            )
            taken |= {i for i in ids if ids.count(i) > 1}
            if taken:
                return sorted(taken)
            s.add_all(
                DatasetRow(app_pk=app.pk, dataset_id=d.dataset_id, description=d.description)
                for d in datasets
            )
            return []

    def get_dataset(self, user_id: str, app_id: str, dataset_id: str) -> Dataset | None:
        with self._session() as s:
            try:
                row = self._dataset(s, user_id, app_id, dataset_id)
            except KeyError:
                return None
            return self._dataset_record(s, user_id, app_id, row)

    def list_datasets(self, user_id: str, app_id: str, offset: int, limit: int) -> list[Dataset]:
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return []
            rows = s.scalars(
                select(DatasetRow)
                .where(DatasetRow.app_pk == app.pk)
                .order_by(DatasetRow.dataset_id)
                .offset(offset)
                .limit(limit)
            )
            return [self._dataset_record(s, user_id, app_id, r) for r in rows]

    def delete_datasets(self, user_id: str, app_id: str, dataset_ids: Sequence[str]) -> list[str]:
        """Delete datasets (all or none: a missing id raises ``KeyError``) and their
        versions; returns the versions' files. The inputs stay in the app."""
        with self._session() as s:
            rows = [self._dataset(s, user_id, app_id, d) for d in dataset_ids]
            return self._delete_dataset_rows(s, [r.pk for r in rows])

    # dataset inputs ------------------------------------------------------------------

    def add_dataset_inputs(
        self, user_id: str, app_id: str, dataset_id: str, input_ids: Sequence[str]
    ) -> list[str]:
        """Add inputs of the app to a dataset, all or none: returns the ids not in the app."""
        with self._session() as s:
            dataset = self._dataset(s, user_id, app_id, dataset_id)
            rows = {
                r.input_id: r.pk
                for r in s.scalars(
                    select(InputRow).where(
                        InputRow.app_pk == dataset.app_pk, InputRow.input_id.in_(list(input_ids))
                    )
                )
            }
            missing = sorted(set(input_ids) - set(rows))
            if missing:
                return missing
            present = set(
                s.scalars(
                    select(DatasetInputRow.input_pk).where(
                        DatasetInputRow.dataset_pk == dataset.pk,
                        DatasetInputRow.input_pk.in_(list(rows.values())),
                    )
                )
            )
            s.add_all(
                DatasetInputRow(dataset_pk=dataset.pk, input_pk=pk)
                for pk in dict.fromkeys(rows[i] for i in input_ids)
                if pk not in present
            )
            return []

    def list_dataset_inputs(
        self, user_id: str, app_id: str, dataset_id: str, offset: int = 0,
        limit: int | None = None,
    ) -> list[StoredInput]:  # fmt: skip
        with self._session() as s:
            dataset = self._dataset(s, user_id, app_id, dataset_id)
            query = (
                select(InputRow)
                .join(DatasetInputRow, DatasetInputRow.input_pk == InputRow.pk)
                .where(DatasetInputRow.dataset_pk == dataset.pk)
                .order_by(InputRow.created_at.desc(), InputRow.pk.desc())
                .offset(offset)
            )
            if limit is not None:
                query = query.limit(limit)
            return mapping.stored_inputs(s, list(s.scalars(query)))

    def remove_dataset_inputs(
        self, user_id: str, app_id: str, dataset_id: str, input_ids: Sequence[str]
    ) -> None:
        """Take inputs out of a dataset (they stay in the app)."""
        with self._session() as s:
            dataset = self._dataset(s, user_id, app_id, dataset_id)
            pks = select(InputRow.pk).where(
                InputRow.app_pk == dataset.app_pk, InputRow.input_id.in_(list(input_ids))
            )
            s.execute(
                delete(DatasetInputRow).where(
                    DatasetInputRow.dataset_pk == dataset.pk, DatasetInputRow.input_pk.in_(pks)
                )
            )

    # dataset versions ----------------------------------------------------------------

    def add_dataset_version(
        self, user_id: str, app_id: str, dataset_id: str, version_id: str, description: str,
        snapshot: Sequence[StoredInput],
    ) -> DatasetVersion:  # fmt: skip
        with self._session() as s:
            dataset = self._dataset(s, user_id, app_id, dataset_id)
            row = DatasetVersionRow(
                id=version_id, dataset_pk=dataset.pk, description=description,
                snapshot=[snapshot_entry(r) for r in snapshot],
            )  # fmt: skip
            s.add(row)
            s.flush()
            return self._version_record(row, user_id, app_id, dataset_id)

    @staticmethod
    def _version_record(
        row: DatasetVersionRow, user_id: str, app_id: str, dataset_id: str
    ) -> DatasetVersion:
        entries = tuple(_from_entry(e, row.created_at) for e in row.snapshot)
        return DatasetVersion(
            row.id, user_id, app_id, dataset_id, row.description, row.created_at, entries
        )

    def get_dataset_version(
        self, user_id: str, app_id: str, version_id: str
    ) -> DatasetVersion | None:
        """A dataset version of this app (by its id alone: version ids are unique)."""
        with self._session() as s:
            app = self._app(s, user_id, app_id)
            if app is None:
                return None
            found = s.execute(
                select(DatasetVersionRow, DatasetRow.dataset_id)
                .join(DatasetRow, DatasetRow.pk == DatasetVersionRow.dataset_pk)
                .where(DatasetRow.app_pk == app.pk, DatasetVersionRow.id == version_id)
            ).first()
            if found is None:
                return None
            return self._version_record(found[0], user_id, app_id, found[1])

    def list_dataset_versions(
        self, user_id: str, app_id: str, dataset_id: str, offset: int, limit: int
    ) -> list[DatasetVersion]:
        with self._session() as s:
            dataset = self._dataset(s, user_id, app_id, dataset_id)
            rows = s.scalars(
                select(DatasetVersionRow)
                .where(DatasetVersionRow.dataset_pk == dataset.pk)
                .order_by(DatasetVersionRow.created_at.desc(), DatasetVersionRow.id.desc())
                .offset(offset)
                .limit(limit)
            )
            return [self._version_record(r, user_id, app_id, dataset_id) for r in rows]

    def delete_dataset_versions(
        self, user_id: str, app_id: str, dataset_id: str, version_ids: Sequence[str]
    ) -> list[str]:
        """Delete versions of a dataset; returns their files."""
        with self._session() as s:
            dataset = self._dataset(s, user_id, app_id, dataset_id)
            rows = list(
                s.scalars(
                    select(DatasetVersionRow).where(
                        DatasetVersionRow.dataset_pk == dataset.pk,
                        DatasetVersionRow.id.in_(list(version_ids)),
                    )
                )
            )
            files = [e["file"] for r in rows for e in r.snapshot if e.get("file")]
            for row in rows:
                s.delete(row)
            return files
