"""Read-only records the registry hands out that are no domain value (API keys, for auth)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


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
