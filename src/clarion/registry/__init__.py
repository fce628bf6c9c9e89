"""Persistent state: users, apps, models, immutable versions, concepts and API keys."""

from clarion.registry.records import ConceptRecord, KeyRecord, ModelRecord, VersionRecord
from clarion.registry.store import Page, Registry

__all__ = ["ConceptRecord", "KeyRecord", "ModelRecord", "Page", "Registry", "VersionRecord"]
