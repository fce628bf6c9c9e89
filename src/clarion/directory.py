"""Visibility-aware lookups of users, apps, models and versions.

Everything a caller may not see is reported exactly as if it did not exist, so the API
never reveals other users' resources.

    directory = ModelDirectory(registry)
    model, version = directory.resolve(principal, ModelRef("clarion", "main", "all-minilm-l6-v2"))
"""

from __future__ import annotations

from dataclasses import dataclass

from clarion.auth import PUBLIC_USER, Principal
from clarion.catalog import PUBLIC_APP
from clarion.domain.models import Model, ModelVersion, TrainingState
from clarion.domain.values import Concept
from clarion.errors import ModelNotFound, PermissionDenied, ResourceNotFound
from clarion.registry import Page, Registry
from clarion.ttl_cache import Changes, TtlCache


@dataclass(frozen=True)
class ModelRef:
    """Names a model and optionally one version; empty user/app mean the public catalog."""

    user_id: str
    app_id: str
    model_id: str
    version_id: str = ""

    @classmethod
    def of(cls, user_id: str, app_id: str, model_id: str, version_id: str = "") -> ModelRef:
        if not user_id and not app_id:
            user_id, app_id = PUBLIC_USER, PUBLIC_APP
        return cls(user_id, app_id, model_id, version_id)

    def for_caller(self, principal: Principal) -> ModelRef:
        """The same reference with ``me`` replaced by the caller's user id."""
        if self.user_id != "me":
            return self
        return ModelRef(principal.user_id, self.app_id, self.model_id, self.version_id)

    @property
    def path(self) -> str:
        return f"{self.user_id}/{self.app_id}/models/{self.model_id}"


class ModelDirectory:
    """Looks models up on behalf of a principal."""

    def __init__(
        self, registry: Registry, cache_s: float = 1.0, changes: Changes | None = None
    ) -> None:
        self._registry = registry
        self._concepts: dict[str, tuple[Concept, ...]] = {}
        # Resolved routes (which model, which version is latest) are re-read at most every
        # ``cache_s`` seconds, or once the registry's ``changes`` say so; visibility is
        # still checked on every call.
        self._routes: TtlCache[ModelRef, tuple[Model, ModelVersion | None] | None] = TtlCache(
            cache_s, changes=changes
        )
        # Models by (user, app, model id), for as long; who may read them is still checked
        # on every call, and one that is not there is looked up again each time.
        self._models: TtlCache[tuple[str, str, str], Model | None] = TtlCache(
            cache_s, changes=changes
        )

    def readable_app(self, principal: Principal, user_id: str, app_id: str) -> tuple[str, str]:
        """The (user, app) named, if the caller may read it; ``me`` names the caller."""
        user_id = principal.user_id if user_id in ("", "me") else user_id
        self.check_app(principal, user_id, app_id)
        return user_id, app_id

    def check_app(self, principal: Principal, user_id: str, app_id: str) -> None:
        if not user_id or not app_id:
            raise ResourceNotFound(
                "user_app_id must name both user_id and app_id, "
                f"got user_id={user_id!r}, app_id={app_id!r}."
            )
        if not principal.can_read(user_id) or not self._registry.app_exists(user_id, app_id):
            raise ResourceNotFound(f"App {user_id}/{app_id} does not exist.")

    def writable_app(self, principal: Principal, user_id: str, app_id: str) -> tuple[str, str]:
        """The (user, app) the caller may change; ``me`` names the caller."""
        user_id = principal.user_id if user_id in ("", "me") else user_id
        if user_id == PUBLIC_USER and principal.user_id != PUBLIC_USER:
            raise PermissionDenied(f"The app {PUBLIC_USER}/{app_id} is read-only.")
        if user_id != principal.user_id or not self._registry.app_exists(user_id, app_id):
            raise ResourceNotFound(f"App {user_id}/{app_id} does not exist.")
        return user_id, app_id

    def writable_model(
        self, principal: Principal, user_id: str, app_id: str, model_id: str
    ) -> Model:
        user_id, app_id = self.writable_app(principal, user_id, app_id)
        model = self._registry.get_model(user_id, app_id, model_id)
        if model is None:
            raise ModelNotFound(f"Model {user_id}/{app_id}/models/{model_id} does not exist.")
        return model

    def training(self, version: ModelVersion) -> TrainingState | None:
        """A trained version's training state (None for built-in versions); not cached."""
        if not version.trained:
            return None
        return self._registry.training(version.id)

    def forget(self) -> None:
        """Drop cached routes and models after this process changed models or versions."""
        self._routes.clear()
        self._models.clear()

    def model(self, principal: Principal, ref: ModelRef) -> Model:
        ref = ref.for_caller(principal)
        if not ref.model_id:
            raise ModelNotFound("model_id is required.")
        if principal.can_read(ref.user_id) and ref.user_id and ref.app_id:
            key = (ref.user_id, ref.app_id, ref.model_id)
            model = self._models.get_or_load(
                key, lambda: self._registry.get_model(ref.user_id, ref.app_id, ref.model_id)
            )
            if model is not None:
                return model
        self.check_app(principal, ref.user_id, ref.app_id)  # raises the right "does not exist"
        raise ModelNotFound(f"Model {ref.path} does not exist.")

    def resolve(self, principal: Principal, ref: ModelRef) -> tuple[Model, ModelVersion]:
        """The model and the named version, or its latest version when none is named."""
        ref = ref.for_caller(principal)
        if not ref.model_id or not principal.can_read(ref.user_id):
            self.model(principal, ref)  # raises the right "does not exist"
        route = self._routes.get_or_load(
            ref,
            lambda: self._registry.route(ref.user_id, ref.app_id, ref.model_id, ref.version_id),
        )
        if route is None:
            self.model(principal, ref)  # raises the right "does not exist"
            raise ModelNotFound(f"Model {ref.path} does not exist.")
        model, version = route
        if version is None:
            if ref.version_id:
                raise ModelNotFound(
                    f"Model {ref.path} has no version {ref.version_id!r}; "
                    "list them with ListModelVersions."
                )
            raise ModelNotFound(f"Model {ref.path} has no versions yet.")
        return model, version

    def concepts(self, version: ModelVersion) -> tuple[Concept, ...]:
        """A version's concepts in output order (cached: versions never change)."""
        cached = self._concepts.get(version.id)
        if cached is None:
            cached = tuple(self._registry.concepts(version.id))
            self._concepts[version.id] = cached
        return cached

    def list_models(
        self, principal: Principal, user_id: str, app_id: str, page: Page
    ) -> list[Model]:
        """Models in one app, or in every app the caller can read when none is named."""
        if user_id or app_id:
            user_id, app_id = self.readable_app(principal, user_id, app_id)
            return self._registry.list_models([user_id], page, app_id=app_id)
        return self._registry.list_models([principal.user_id, PUBLIC_USER], page)

    def list_versions(self, principal: Principal, ref: ModelRef, page: Page) -> list[ModelVersion]:
        return self._registry.list_versions(self.model(principal, ref), page)
