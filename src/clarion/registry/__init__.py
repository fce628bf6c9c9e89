"""Persistent state: users, apps, models, immutable versions, concepts and API keys."""

from clarion.registry.records import KeyRecord
from clarion.registry.store import Page, Registry

__all__ = ["KeyRecord", "Page", "Registry"]
