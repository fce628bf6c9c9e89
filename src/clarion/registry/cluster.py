"""What several Clarion servers on one registry share beyond the workspace: how each model
version scales, which versions the front ends want deployed on a Ray cluster (the demand the
reconciler serves), which servers are alive (their heartbeats), and which server runs each
training.

    registry.set_scaling(version.id, ScalingSettings(min_replicas=0, max_replicas=4))
    registry.want_version(version.id)        # a front end's first use of it on the cluster
    registry.heartbeat("9f2c...", "host-a")
    registry.orphaned_trainings(codes, "9f2c...", stale_before=cutoff)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from clarion.domain.models import Model, ModelVersion
from clarion.domain.scaling import ScalingSettings
from clarion.registry import mapping
from clarion.registry.schema import (
    AppRow,
    FrontEndRow,
    ModelRow,
    ModelVersionRow,
    TrainingOwnerRow,
    TrainingRow,
    VersionDemandRow,
    VersionScalingRow,
)

T = TypeVar("T")


class ClusterStore:
    """Scaling settings, front-end heartbeats and training owners."""

    def _session(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _ensure(self, work: Callable[[Session], T]) -> T:
        raise NotImplementedError

    # scaling -------------------------------------------------------------------------

    def set_scaling(self, version_id: str, settings: ScalingSettings) -> bool:
        """Store a version's scaling settings (replacing any); False when it does not exist."""
        with self._session() as s:
            if s.get(ModelVersionRow, version_id) is None:
                return False
            row = s.get(VersionScalingRow, version_id)
            if row is None:
                row = VersionScalingRow(version_id=version_id)
                s.add(row)
            row.settings = asdict(settings)
            row.updated_at = datetime.now(UTC)
            return True

    def version_by_id(self, version_id: str) -> tuple[Model, ModelVersion] | None:
        """A version and its model, found by the version's id alone (ids are unique)."""
        with self._session() as s:
            row = s.get(ModelVersionRow, version_id)
            if row is None:
                return None
            model_row = s.get(ModelRow, row.model_pk)
            assert model_row is not None
            return mapping.model(model_row), mapping.versions(s, [row], model_row.model_id)[0]

    def scaled_versions(
        self, user_ids: Sequence[str], version_ids: Sequence[str] = ()
    ) -> list[tuple[Model, ModelVersion]]:
        """Versions with stored scaling settings in apps of ``user_ids`` (only those named in
        ``version_ids`` when given), by version id."""
        with self._session() as s:
            query = (
                select(ModelVersionRow, ModelRow)
                .join(VersionScalingRow, VersionScalingRow.version_id == ModelVersionRow.id)
                .join(ModelRow, ModelRow.pk == ModelVersionRow.model_pk)
                .join(AppRow, AppRow.pk == ModelRow.app_pk)
                .where(AppRow.user_id.in_(list(user_ids)))
                .order_by(ModelVersionRow.id)
            )
            if version_ids:
                query = query.where(ModelVersionRow.id.in_(list(version_ids)))
            return [
                (mapping.model(m), mapping.versions(s, [v], m.model_id)[0])
                for v, m in s.execute(query)
            ]

    # demand: the versions wanted on a Ray cluster ------------------------------------

    def want_version(self, version_id: str) -> None:
        """Record that a front end wants ``version_id`` deployed (now, again or first)."""

        def work(s: Session) -> None:
            row = s.get(VersionDemandRow, version_id)
            if row is None:
                s.add(VersionDemandRow(version_id=version_id))
            else:
                row.requested_at = datetime.now(UTC)

        self._ensure(work)

    def demanded_versions(self) -> list[tuple[Model, ModelVersion]]:
        """The wanted versions that exist, with their models, first asked for first."""
        with self._session() as s:
            query = (
                select(ModelVersionRow, ModelRow)
                .join(VersionDemandRow, VersionDemandRow.version_id == ModelVersionRow.id)
                .join(ModelRow, ModelRow.pk == ModelVersionRow.model_pk)
                .order_by(VersionDemandRow.requested_at, ModelVersionRow.id)
            )
            return [
                (mapping.model(m), mapping.versions(s, [v], m.model_id)[0])
                for v, m in s.execute(query)
            ]

    def demand_gone(self) -> list[str]:
        """Wanted version ids whose version no longer exists (it, its model or its app was
        deleted)."""
        with self._session() as s:
            query = (
                select(VersionDemandRow.version_id)
                .outerjoin(ModelVersionRow, ModelVersionRow.id == VersionDemandRow.version_id)
                .where(ModelVersionRow.id.is_(None))
                .order_by(VersionDemandRow.version_id)
            )
            return list(s.scalars(query))

    def forget_demand(self, version_ids: Sequence[str]) -> None:
        if version_ids:
            with self._session() as s:
                s.execute(
                    delete(VersionDemandRow).where(VersionDemandRow.version_id.in_(version_ids))
                )

    # front ends and the trainings they run -------------------------------------------

    def heartbeat(self, instance_id: str, host: str = "") -> None:
        """Record that the server ``instance_id`` is alive now."""
        with self._session() as s:
            row = s.get(FrontEndRow, instance_id)
            if row is None:
                s.add(FrontEndRow(instance_id=instance_id, host=host))
            else:
                row.host = host
                row.heartbeat_at = datetime.now(UTC)

    def live_front_ends(self, stale_before: datetime) -> set[str]:
        """The servers whose last heartbeat is not older than ``stale_before``."""
        with self._session() as s:
            return set(
                s.scalars(
                    select(FrontEndRow.instance_id).where(FrontEndRow.heartbeat_at >= stale_before)
                )
            )

    def orphaned_trainings(
        self, codes: Sequence[int], instance_id: str, stale_before: datetime
    ) -> list[str]:
        """Unfinished trainings (status in ``codes``) that no live server runs: those of
        ``instance_id`` itself (a server restarting on its home), those without an owner
        (made before owners were recorded), and those whose owner's heartbeat is older
        than ``stale_before`` (or missing)."""
        with self._session() as s:
            query = (
                select(TrainingRow.version_id)
                .outerjoin(TrainingOwnerRow, TrainingOwnerRow.version_id == TrainingRow.version_id)
                .outerjoin(FrontEndRow, FrontEndRow.instance_id == TrainingOwnerRow.instance_id)
                .where(
                    TrainingRow.status_code.in_(list(codes)),
                    or_(
                        TrainingOwnerRow.instance_id.is_(None),
                        TrainingOwnerRow.instance_id == instance_id,
                        FrontEndRow.heartbeat_at.is_(None),
                        FrontEndRow.heartbeat_at < stale_before,
                    ),
                )
            )
            return list(s.scalars(query))
