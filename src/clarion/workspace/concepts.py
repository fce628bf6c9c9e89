"""An app's concepts: the labels its inputs carry and its custom models learn."""

from __future__ import annotations

from collections.abc import Sequence

from clarion.auth import Principal
from clarion.directory import ModelDirectory
from clarion.domain.values import Concept
from clarion.errors import InvalidRequest, ResourceNotFound
from clarion.registry import Page, Registry
from clarion.workspace.bounds import MAX_NAME_LENGTH, checked_id

MAX_CONCEPTS_PER_REQUEST = 128


class ConceptService:
    def __init__(self, registry: Registry, directory: ModelDirectory) -> None:
        self._registry = registry
        self._directory = directory

    def add_concepts(
        self, principal: Principal, user_id: str, app_id: str, concepts: Sequence[Concept]
    ) -> list[Concept]:
        """Add new concepts, all or none; the answer holds them as stored."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        named = _named(concepts)
        existing = self._registry.add_concepts(user_id, app_id, named)
        if existing:
            raise InvalidRequest(
                f"These concepts already exist in app {user_id}/{app_id}: {', '.join(existing)}; "
                "nothing was added (rename concepts with PatchConcepts)."
            )
        return named

    def list_concepts(
        self, principal: Principal, user_id: str, app_id: str, page: Page
    ) -> list[Concept]:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._registry.list_concepts(user_id, app_id, page.offset, page.limit)

    def get_concept(
        self, principal: Principal, user_id: str, app_id: str, concept_id: str
    ) -> Concept:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        found = self._registry.list_concepts(user_id, app_id, ids=[concept_id])
        if not found:
            raise ResourceNotFound(
                f"Concept {concept_id!r} does not exist in app {user_id}/{app_id}."
            )
        return found[0]

    def rename_concepts(
        self,
        principal: Principal,
        user_id: str,
        app_id: str,
        concepts: Sequence[Concept],
        action: str = "",
    ) -> list[Concept]:
        """Give existing concepts new names, all or none (``action`` may only be overwrite)."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        if action not in ("", "overwrite"):
            raise InvalidRequest(
                f"PatchConcepts action must be overwrite (renames), got {action!r}."
            )
        named = _named(concepts)
        missing = self._registry.rename_concepts(user_id, app_id, {c.id: c.name for c in named})
        if missing:
            raise ResourceNotFound(
                f"These concepts do not exist in app {user_id}/{app_id}: {', '.join(missing)}; "
                "nothing was changed."
            )
        return named


def _named(concepts: Sequence[Concept]) -> list[Concept]:
    """The concepts once each, the last of a repeated id winning; named by their id when
    they have no name, and names cut to :data:`MAX_NAME_LENGTH`."""
    if not 1 <= len(concepts) <= MAX_CONCEPTS_PER_REQUEST:
        raise InvalidRequest(
            f"Send 1 to {MAX_CONCEPTS_PER_REQUEST} concepts per request, got {len(concepts)}."
        )
    named = {}
    for concept in concepts:
        checked_id("concept", concept.id)
        named[concept.id] = Concept(concept.id, (concept.name or concept.id)[:MAX_NAME_LENGTH])
    return list(named.values())
