"""Read-only records the registry hands out (never live ORM objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class ModelRecord:
    pk: int
    user_id: str
    app_id: str
    model_id: str
    model_type_id: str
    name: str
    description: str
    created_at: datetime


@dataclass(frozen=True)
class VersionRecord:
    id: str
    model_pk: int
    runner: str
    spec: dict[str, Any] = field(hash=False)
    description: str
    created_at: datetime


@dataclass(frozen=True)
class ConceptRecord:
    id: str
    name: str


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    user_id: str
    digest: str
    description: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None
