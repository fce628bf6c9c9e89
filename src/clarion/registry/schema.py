"""The registry's tables (SQLAlchemy 2 declarative models).

A model version is immutable once created: :func:`_forbid_version_updates` refuses any
UPDATE of a ``model_versions`` row, so no code path can change what a version id means.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AppRow(Base):
    __tablename__ = "apps"
    __table_args__ = (UniqueConstraint("user_id", "app_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    app_id: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ModelRow(Base):
    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("app_pk", "model_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.pk"), index=True)
    model_id: Mapped[str] = mapped_column(String(128))
    model_type_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256), default="")
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    app: Mapped[AppRow] = relationship(lazy="joined")


class ModelVersionRow(Base):
    """One immutable version of a model.

    ``runner`` names the runner family that serves it and ``spec`` holds what that runner
    needs (file paths, digests); both are fixed at creation.
    """

    __tablename__ = "model_versions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    model_pk: Mapped[int] = mapped_column(ForeignKey("models.pk"), index=True)
    runner: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ConceptRow(Base):
    __tablename__ = "concepts"
    __table_args__ = (UniqueConstraint("version_id", "concept_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    concept_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))


class ApiKeyRow(Base):
    """A personal access token, stored as a SHA-256 digest only.

    ``key_id`` is the token's first characters, kept in the clear so that a key can be
    listed and revoked by it; the secret rest is never stored.
    """

    __tablename__ = "api_keys"

    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    digest: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ModelConfigRow(Base):
    """What a user-created model learns: its concepts and its kind (apart from the model row
    so that registries made before custom models existed gain it without a migration)."""

    __tablename__ = "model_configs"

    model_pk: Mapped[int] = mapped_column(ForeignKey("models.pk"), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TrainingRow(Base):
    """A trained version's training state: queued, training, then trained or failed.

    The only part of a version that changes, and only until it reaches a final state.
    """

    __tablename__ = "version_training"

    version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    status_code: Mapped[int] = mapped_column(Integer)
    status_description: Mapped[str] = mapped_column(String(2000), default="")
    info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InputRow(Base):
    """A stored input of a user's app; image bytes live in a file under the home dir."""

    __tablename__ = "inputs"
    __table_args__ = (UniqueConstraint("app_pk", "input_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.pk"), index=True)
    input_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(String, nullable=True)
    file: Mapped[str | None] = mapped_column(String(512), nullable=True)
    concepts: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VersionScalingRow(Base):
    """How a model version scales on a cluster, when someone set it (ScalingSettings' fields
    as JSON); a version without a row takes its family's defaults."""

    __tablename__ = "version_scaling"

    version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FrontEndRow(Base):
    """A Clarion server on the registry: its id (kept in its home) and when it last said it
    is alive."""

    __tablename__ = "front_ends"

    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(256), default="")
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VersionDemandRow(Base):
    """A version some front end asked for on a Ray cluster (at its first use there, or when
    preloaded): the reconciler keeps these deployed. Not a foreign key on purpose: the row
    outlives its version so that the reconciler still knows to delete the version's
    application, and then forgets the row."""

    __tablename__ = "version_demand"

    version_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TrainingOwnerRow(Base):
    """Which server runs a version's training (apart from the training row so that
    registries made before owners existed gain it without a migration)."""

    __tablename__ = "training_owners"

    version_id: Mapped[str] = mapped_column(ForeignKey("model_versions.id"), primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64))


class ChangeCountRow(Base):
    """One row: how many transactions have changed what requests look up and front ends
    cache (users, apps, models, versions, their training and scaling, keys). Every such
    transaction raises it (``registry/changes.py``), so one read of it tells a front end
    that its cached lookups still hold."""

    __tablename__ = "registry_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


@event.listens_for(ModelVersionRow, "before_update")
def _forbid_version_updates(_mapper: Any, _connection: Any, target: ModelVersionRow) -> None:
    raise RuntimeError(f"model version {target.id} is immutable and cannot be updated")


class AppConceptRow(Base):
    """A concept of an app: created by PostConcepts or by the first input labelled with it."""

    __tablename__ = "app_concepts"
    __table_args__ = (UniqueConstraint("app_pk", "concept_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.pk"), index=True)
    concept_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InputMetadataRow(Base):
    """An input's user metadata (a JSON object), apart from the input row so that registries
    made before it existed gain it without a migration."""

    __tablename__ = "input_metadata"

    input_pk: Mapped[int] = mapped_column(ForeignKey("inputs.pk"), primary_key=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)


class InputJobRow(Base):
    """One PostInputs call that named an ``inputs_add_job_id``, and how it ended."""

    __tablename__ = "input_jobs"
    __table_args__ = (UniqueConstraint("app_pk", "job_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.pk"), index=True)
    job_id: Mapped[str] = mapped_column(String(128))
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetRow(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("app_pk", "dataset_id"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    app_pk: Mapped[int] = mapped_column(ForeignKey("apps.pk"), index=True)
    dataset_id: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetInputRow(Base):
    __tablename__ = "dataset_inputs"
    __table_args__ = (UniqueConstraint("dataset_pk", "input_pk"),)

    pk: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dataset_pk: Mapped[int] = mapped_column(ForeignKey("datasets.pk"), index=True)
    input_pk: Mapped[int] = mapped_column(ForeignKey("inputs.pk"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DatasetVersionRow(Base):
    """A frozen copy of a dataset's inputs and labels (``snapshot``); never updated.

    Image bytes are linked or copied under ``$CLARION_HOME/dataset-versions/<id>/`` so that
    deleting an input later leaves the version as it was.
    """

    __tablename__ = "dataset_versions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset_pk: Mapped[int] = mapped_column(ForeignKey("datasets.pk"), index=True)
    description: Mapped[str] = mapped_column(String(2000), default="")
    snapshot: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


@event.listens_for(DatasetVersionRow, "before_update")
def _forbid_dataset_version_updates(
    _mapper: Any, _connection: Any, target: DatasetVersionRow
) -> None:
    raise RuntimeError(f"dataset version {target.id} is immutable and cannot be updated")
