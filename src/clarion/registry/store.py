"""The registry: users, apps, models, versions, concepts and API keys in one database.

SQLite in the home directory by default; any SQLAlchemy URL (e.g. ``postgresql+psycopg://``)
works with the same code. Every write is idempotent where a restart may repeat it.

    registry = Registry.open("sqlite:////tmp/clarion/registry.db")
    model = registry.get_model("clarion", "main", "all-minilm-l6-v2")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event, func, or_, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from clarion.atomic import private_dir, private_file
from clarion.domain.models import Model, ModelVersion
from clarion.domain.values import Concept
from clarion.errors import InternalError, StatusCode
from clarion.registry import mapping
from clarion.registry.changes import count_changes, ensure_counter, read_count
from clarion.registry.cluster import ClusterStore
from clarion.registry.datasets import DatasetStore
from clarion.registry.election import AdvisoryLock, lock_holder
from clarion.registry.records import KeyRecord
from clarion.registry.schema import (
    ApiKeyRow,
    AppRow,
    Base,
    ConceptRow,
    FrontEndRow,
    ModelRow,
    ModelVersionRow,
    TrainingOwnerRow,
    TrainingRow,
    UserRow,
    VersionScalingRow,
)
from clarion.registry.workspace import WorkspaceStore

T = TypeVar("T")

DEFAULT_PER_PAGE = 128
#: The PostgreSQL advisory lock that servers starting at once take around creating the
#: tables (concurrent ``CREATE TABLE`` of one table fails in all but one of them).
_SCHEMA_LOCK = 0x436C6172
MAX_PER_PAGE = 1000


@dataclass(frozen=True)
class Page:
    """A 1-based page request; ``per_page`` 0 means the default size."""

    page: int = 1
    per_page: int = 0

    @property
    def limit(self) -> int:
        return min(self.per_page or DEFAULT_PER_PAGE, MAX_PER_PAGE)

    @property
    def offset(self) -> int:
        return (max(self.page, 1) - 1) * self.limit


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _private_sqlite_file(path: Path) -> None:
    """The database file (and its WAL and shared-memory files) readable by the owner only.

    SQLite gives the ``-wal`` and ``-shm`` files the database file's mode, so creating the
    database 0600 before SQLite opens it keeps all three private.
    """
    if path.name in ("", ":memory:"):
        return
    if not path.parent.exists():
        private_dir(path.parent)
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate == path or candidate.exists():
            private_file(candidate)


def _key_record(row: ApiKeyRow) -> KeyRecord:
    return KeyRecord(
        key_id=row.key_id,
        user_id=row.user_id,
        digest=row.digest,
        description=row.description,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _create_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        Base.metadata.create_all(connection)
        ensure_counter(connection)


class Registry(WorkspaceStore, DatasetStore, ClusterStore):
    """All persistent state, behind methods that return plain records."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        count_changes(self._sessions)

    @classmethod
    def open(cls, url: str) -> Registry:
        """Open (and create if needed) the registry at a SQLAlchemy URL."""
        if url.startswith("sqlite:///"):
            _private_sqlite_file(Path(url.removeprefix("sqlite:///")))
            engine = create_engine(url, connect_args={"check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _create_tables(engine)
        registry = cls(engine)
        registry.backfill_concepts()
        return registry

    def close(self) -> None:
        self._engine.dispose()

    def change_count(self) -> int:
        """How many transactions have changed what front ends cache (``registry/changes.py``)."""
        try:
            with self._engine.connect() as connection:
                return read_count(connection)
        except SQLAlchemyError as exc:
            raise InternalError(f"registry error: {type(exc).__name__}") from exc

    def reconciler_election(self, instance_id: str = "") -> AdvisoryLock | None:
        """How front ends on this registry elect the one that reconciles a Ray cluster: an
        advisory lock on PostgreSQL, its connection named after the front end
        ``instance_id``; None on SQLite, whose single server always leads."""
        if self._engine.dialect.name == "postgresql":
            return AdvisoryLock(self._engine.url, instance_id)
        return None

    def reconciler_leader(self, this_instance: str) -> tuple[str, str] | None:
        """The instance id and host (from its heartbeat; empty when unknown) of the front
        end that reconciles a Ray cluster now: on PostgreSQL the one whose election
        connection holds the lock (None while none does); on SQLite the one server,
        ``this_instance``."""
        with self._session() as s:
            if self._engine.dialect.name == "postgresql":
                leader = lock_holder(s.connection())
                if leader is None:
                    return None
            else:
                leader = this_instance
            row = s.get(FrontEndRow, leader) if leader else None
            return leader, "" if row is None else row.host

    @contextmanager
    def _session(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise InternalError(f"registry error: {type(exc).__name__}") from exc

    def _ensure(self, work: Callable[[Session], T]) -> T:
        """Run a create-if-missing transaction; when another process created the same row
        meanwhile (a unique constraint refused ours), run it again: it then finds that row."""
        try:
            with self._session() as s:
                return work(s)
        except InternalError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
        with self._session() as s:
            return work(s)

    # users and apps ------------------------------------------------------------------

    def ensure_user(self, user_id: str) -> None:
        def work(s: Session) -> None:
            if s.get(UserRow, user_id) is None:
                s.add(UserRow(id=user_id))

        self._ensure(work)

    def ensure_app(self, user_id: str, app_id: str, description: str = "") -> None:
        self.ensure_user(user_id)

        def work(s: Session) -> None:
            if self._app(s, user_id, app_id) is None:
                s.add(AppRow(user_id=user_id, app_id=app_id, description=description))

        self._ensure(work)

    def app_exists(self, user_id: str, app_id: str) -> bool:
        with self._session() as s:
            return self._app(s, user_id, app_id) is not None

    @staticmethod
    def _app(s: Session, user_id: str, app_id: str) -> AppRow | None:
        return s.scalar(select(AppRow).where(AppRow.user_id == user_id, AppRow.app_id == app_id))

    # models --------------------------------------------------------------------------

    def ensure_model(
        self,
        user_id: str,
        app_id: str,
        model_id: str,
        *,
        model_type_id: str,
        name: str = "",
        description: str = "",
    ) -> Model:
        """Create the model if it does not exist; return it either way."""
        self.ensure_app(user_id, app_id)

        def work(s: Session) -> Model:
            app = self._app(s, user_id, app_id)
            assert app is not None
            row = s.scalar(
                select(ModelRow).where(ModelRow.app_pk == app.pk, ModelRow.model_id == model_id)
            )
            if row is None:
                row = ModelRow(
                    app_pk=app.pk,
                    model_id=model_id,
                    model_type_id=model_type_id,
                    name=name or model_id,
                    description=description,
                )
                row.app = app
                s.add(row)
                s.flush()
            return mapping.model(row)

        return self._ensure(work)

    def get_model(self, user_id: str, app_id: str, model_id: str) -> Model | None:
        with self._session() as s:
            row = self._model_row(s, user_id, app_id, model_id)
            return None if row is None else mapping.model(row)

    @staticmethod
    def _model_row(s: Session, user_id: str, app_id: str, model_id: str) -> ModelRow | None:
        """One query: the model's row, its app joined."""
        return s.scalar(
            select(ModelRow)
            .join(AppRow)
            .where(
                AppRow.user_id == user_id,
                AppRow.app_id == app_id,
                ModelRow.model_id == model_id,
            )
        )

    def list_models(
        self, user_ids: Sequence[str], page: Page, app_id: str | None = None
    ) -> list[Model]:
        """Models in apps owned by any of ``user_ids`` (and named ``app_id`` if given)."""
        with self._session() as s:
            query = select(ModelRow).join(AppRow).where(AppRow.user_id.in_(list(user_ids)))
            if app_id is not None:
                query = query.where(AppRow.app_id == app_id)
            rows = s.scalars(
                query.order_by(AppRow.user_id, AppRow.app_id, ModelRow.model_id)
                .limit(page.limit)
                .offset(page.offset)
            )
            return [mapping.model(r) for r in rows]

    # versions and concepts -----------------------------------------------------------

    def ensure_version(
        self,
        model: Model,
        version_id: str,
        *,
        runner: str,
        spec: dict[str, Any],
        description: str = "",
        concepts: Sequence[Concept] = (),
        training: tuple[int, str, dict[str, Any]] | None = None,
        training_owner: str = "",
        base: ModelVersion | None = None,
    ) -> ModelVersion:
        """Create a version with its concepts unless that id exists; versions never change.

        ``training`` (code, description, info) is a trainable version's first state, written
        in the same transaction: no reader (nor a restart after a crash) ever sees a trained
        kind of version without one, which would pass for a ready built-in version. A version
        built on ``base`` (a trained head on an embedder) pins the base's runner and spec in
        its own, as ``base_runner`` and ``base_spec``. ``training_owner`` is the server that
        runs the training (see :meth:`orphaned_trainings`)."""

        def work(s: Session) -> ModelVersion:
            row = s.get(ModelVersionRow, version_id)
            if row is None:
                model_pk = mapping.model_pk(s, model)
                if model_pk is None:
                    raise InternalError(f"model {model.path} no longer exists")
                if base is not None:
                    pinned = s.get(ModelVersionRow, base.id)
                    if pinned is None:
                        raise InternalError(f"base version {base.id} no longer exists")
                    pinned_spec = {
                        **spec, "base_runner": pinned.runner, "base_spec": dict(pinned.spec),
                    }  # fmt: skip
                row = ModelVersionRow(
                    id=version_id,
                    model_pk=model_pk,
                    runner=runner,
                    spec=spec if base is None else pinned_spec,
                    description=description,
                )
                s.add(row)
                s.flush()
                s.add_all(
                    ConceptRow(version_id=version_id, position=i, concept_id=c.id, name=c.name)
                    for i, c in enumerate(concepts)
                )
                if training is not None:
                    code, text, info = training
                    s.add(
                        TrainingRow(
                            version_id=version_id,
                            status_code=code,
                            status_description=text,
                            info=info,
                        )
                    )
                    if training_owner:
                        s.add(TrainingOwnerRow(version_id=version_id, instance_id=training_owner))
                s.flush()
            return mapping.versions(s, [row], model.model_id)[0]

        return self._ensure(work)

    def get_version(
        self, model: Model, version_id: str = "", *, usable: bool = True
    ) -> ModelVersion | None:
        """The named version of ``model``, or its newest usable one when ``version_id`` is
        empty (built-in, or trained: versions still training or failed are passed over;
        ``usable=False`` takes the newest whatever its state)."""
        with self._session() as s:
            model_pk = mapping.model_pk(s, model)
            if model_pk is None:
                return None
            return self._version(s, model_pk, model.model_id, version_id, usable)

    def route(
        self, user_id: str, app_id: str, model_id: str, version_id: str = ""
    ) -> tuple[Model, ModelVersion | None] | None:
        """What a request names: the model and its version (as :meth:`get_version` finds it,
        None when there is none), in one transaction of two queries; None when the app or the
        model is not there."""
        with self._session() as s:
            row = self._model_row(s, user_id, app_id, model_id)
            if row is None:
                return None
            return mapping.model(row), self._version(s, row.pk, model_id, version_id, True)

    @staticmethod
    def _version(
        s: Session, model_pk: int, model_id: str, version_id: str, usable: bool
    ) -> ModelVersion | None:
        """One query: the version row with its training state and scaling settings."""
        query = (
            select(ModelVersionRow, TrainingRow.status_code, VersionScalingRow.settings)
            .outerjoin(TrainingRow, TrainingRow.version_id == ModelVersionRow.id)
            .outerjoin(VersionScalingRow, VersionScalingRow.version_id == ModelVersionRow.id)
            .where(ModelVersionRow.model_pk == model_pk)
        )
        if version_id:
            query = query.where(ModelVersionRow.id == version_id)
        else:
            if usable:
                query = query.where(
                    or_(
                        TrainingRow.status_code.is_(None),
                        TrainingRow.status_code == StatusCode.MODEL_TRAINED,
                    )
                )
            query = query.order_by(
                ModelVersionRow.created_at.desc(), ModelVersionRow.id.desc()
            ).limit(1)
        found = s.execute(query).first()
        if found is None:
            return None
        row, training_status, scaling = found
        return mapping.version(
            row,
            model_id,
            trained=training_status is not None,
            scaling=None if scaling is None else mapping.scaling_settings(scaling),
        )

    def list_versions(self, model: Model, page: Page) -> list[ModelVersion]:
        """Versions of ``model``, newest first."""
        with self._session() as s:
            model_pk = mapping.model_pk(s, model)
            if model_pk is None:
                return []
            rows = s.scalars(
                select(ModelVersionRow)
                .where(ModelVersionRow.model_pk == model_pk)
                .order_by(ModelVersionRow.created_at.desc(), ModelVersionRow.id.desc())
                .limit(page.limit)
                .offset(page.offset)
            )
            return mapping.versions(s, list(rows), model.model_id)

    def concepts(self, version_id: str, page: Page | None = None) -> list[Concept]:
        with self._session() as s:
            query = (
                select(ConceptRow)
                .where(ConceptRow.version_id == version_id)
                .order_by(ConceptRow.position)
            )
            if page is not None:
                query = query.limit(page.limit).offset(page.offset)
            return [Concept(id=r.concept_id, name=r.name) for r in s.scalars(query)]

    # API keys ------------------------------------------------------------------------

    def add_key(self, key_id: str, user_id: str, digest: str, description: str = "") -> None:
        self.ensure_user(user_id)
        with self._session() as s:
            s.add(ApiKeyRow(key_id=key_id, user_id=user_id, digest=digest, description=description))

    def ensure_key(self, key_id: str, user_id: str, digest: str, description: str = "") -> bool:
        """Add the key unless a key with its id exists (one a server starting at the same
        time added included); True when added here."""
        self.ensure_user(user_id)

        def work(s: Session) -> bool:
            if s.get(ApiKeyRow, key_id) is not None:
                return False
            s.add(ApiKeyRow(key_id=key_id, user_id=user_id, digest=digest, description=description))
            s.flush()
            return True

        return self._ensure(work)

    def find_key(self, key_id: str) -> KeyRecord | None:
        with self._session() as s:
            row = s.get(ApiKeyRow, key_id)
            return None if row is None else _key_record(row)

    def list_keys(self, user_id: str | None = None) -> list[KeyRecord]:
        with self._session() as s:
            query = select(ApiKeyRow).order_by(ApiKeyRow.created_at)
            if user_id is not None:
                query = query.where(ApiKeyRow.user_id == user_id)
            return [_key_record(r) for r in s.scalars(query)]

    def revoke_key(self, key_id: str) -> bool:
        """Revoke a key; False when no such key exists. Revoking twice keeps the first time."""
        with self._session() as s:
            row = s.get(ApiKeyRow, key_id)
            if row is None:
                return False
            if row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)
            return True

    def count_active_keys(self) -> int:
        with self._session() as s:
            count = s.scalar(
                select(func.count()).select_from(ApiKeyRow).where(ApiKeyRow.revoked_at.is_(None))
            )
            return int(count or 0)
