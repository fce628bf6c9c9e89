"""Custom models: their concepts, the versions trained from them, and their removal.

A user creates and changes models only in their own apps (:class:`ModelDirectory` says who
may do what); deleting a model or version removes its artefact and the routes the directory
cached.

    created = models.create_model(principal, "me", "news", NewModel("topics", CUSTOM_MODEL_TYPE))
    queued = models.train(principal, "me", "news", "topics", Training(params={}, inference={}))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from clarion import training_params
from clarion.auth import Principal
from clarion.directory import ModelDirectory
from clarion.domain.models import Model, ModelVersion, TrainingState
from clarion.domain.values import Concept
from clarion.domain.workspace import PatchAction
from clarion.errors import InvalidParameter, InvalidRequest, ModelNotFound
from clarion.registry import Registry
from clarion.training import Trainer
from clarion.workspace.bounds import (
    MAX_DESCRIPTION,
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    bounded_ids,
    bounded_text,
)

#: The model type Clarion trains (a concept head on a built-in embedder).
CUSTOM_MODEL_TYPE = "embedding-classifier"


@dataclass(frozen=True)
class CustomModel:
    """A model with its configured concepts and, when asked for, one version."""

    model: Model
    concepts: tuple[Concept, ...]
    version: ModelVersion | None = None
    training: TrainingState | None = None


@dataclass(frozen=True)
class NewModel:
    """A custom model to create; ``concepts`` are the ones it is to learn."""

    model_id: str
    model_type_id: str
    name: str = ""
    description: str = ""
    concepts: tuple[Concept, ...] = ()


@dataclass(frozen=True)
class ModelPatch:
    """New concepts for one custom model."""

    model_id: str
    concepts: tuple[Concept, ...] = ()


@dataclass(frozen=True)
class Training:
    """A request to train a new version, in the official SDK's form: ``params`` are
    ``train_info.params``, ``inference`` the version's ``output_info.params`` (see
    :mod:`clarion.training_params`); ``concept_ids`` the concepts to learn (the model's
    own when empty)."""

    params: Mapping[str, Any]
    inference: Mapping[str, Any]
    exclusive: bool = False
    description: str = ""
    concept_ids: tuple[str, ...] = ()


class ModelService:
    """Custom models and their versions, on behalf of a principal."""

    def __init__(self, registry: Registry, directory: ModelDirectory, trainer: Trainer) -> None:
        self._registry = registry
        self._directory = directory
        self._trainer = trainer

    def create_model(
        self, principal: Principal, user_id: str, app_id: str, new: NewModel
    ) -> CustomModel:
        if not new.model_id:
            raise InvalidRequest("PostModels needs a model with an id.")
        bounded_text(new.model_id, "A model id", MAX_ID_LENGTH)
        bounded_text(new.name, "A model's name", MAX_NAME_LENGTH)
        bounded_text(new.description, "A model's description", MAX_DESCRIPTION)
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        if new.model_type_id != CUSTOM_MODEL_TYPE:
            raise InvalidParameter(
                f"model_type_id must be {CUSTOM_MODEL_TYPE!r} (the kind Clarion trains), "
                f"got {new.model_type_id!r}.",
                parameter="model_type_id",
            )
        concepts = _model_concepts(new.concepts)  # checked before anything is created
        if self._registry.get_model(user_id, app_id, new.model_id) is not None:
            raise InvalidRequest(f"Model {user_id}/{app_id}/models/{new.model_id} already exists.")
        model = self._registry.ensure_model(
            user_id, app_id, new.model_id, model_type_id=CUSTOM_MODEL_TYPE,
            name=new.name or new.model_id, description=new.description,
        )  # fmt: skip
        self._registry.set_model_concepts(model, concepts)
        return self._custom(model)

    def patch_models(
        self,
        principal: Principal,
        user_id: str,
        app_id: str,
        patches: Sequence[ModelPatch],
        action: str = "",
    ) -> list[CustomModel]:
        """Change the concepts of models by ``action``: merge (the default), overwrite or
        remove."""
        how = PatchAction.named(action)
        if how is None:
            raise InvalidParameter(
                f"action must be merge, overwrite or remove, got {action!r}.", parameter="action"
            )
        patched = []
        for patch in patches:
            model = self._directory.writable_model(principal, user_id, app_id, patch.model_id)
            current = {c.id: c for c in self._registry.model_concepts(model)}
            given = {c.id: c for c in _model_concepts(patch.concepts)}
            if how is PatchAction.OVERWRITE:
                current = given
            elif how is PatchAction.MERGE:
                current.update(given)
            else:
                current = {k: v for k, v in current.items() if k not in given}
            self._registry.set_model_concepts(model, list(current.values()))
            patched.append(self._custom(model))
        return patched

    def delete_models(
        self, principal: Principal, user_id: str, app_id: str, model_ids: Sequence[str]
    ) -> None:
        """Delete models with their versions: all of them, or none when one is not the
        caller's to delete."""
        model_ids = bounded_ids(model_ids, "model")
        if not model_ids:
            raise InvalidRequest("DeleteModels needs the ids of the models to delete.")
        models = [self._directory.writable_model(principal, user_id, app_id, i) for i in model_ids]
        removed = [v for model in models for v in self._registry.delete_model(model)]
        self.forget(removed)

    def train(
        self, principal: Principal, user_id: str, app_id: str, model_id: str, request: Training
    ) -> CustomModel:
        """Start training a new version of a custom model; the answer carries it, queued."""
        model = self._directory.writable_model(principal, user_id, app_id, model_id)
        if model.model_type_id != CUSTOM_MODEL_TYPE:
            raise InvalidRequest(f"Model {model.model_id} is not trainable.")
        parsed = training_params.parse(
            dict(request.params), dict(request.inference), request.exclusive
        )
        description = request.description or parsed.description
        bounded_text(description, "A model version's description", MAX_DESCRIPTION)
        parsed = replace(parsed, description=description)
        if not all(request.concept_ids):
            raise InvalidParameter("Every concept needs an id.", parameter="concepts")
        created = self._trainer.start(model, parsed, request.concept_ids)
        self.forget()
        return self._custom(model, created.id)

    def delete_version(
        self, principal: Principal, user_id: str, app_id: str, model_id: str, version_id: str
    ) -> None:
        model = self._directory.writable_model(principal, user_id, app_id, model_id)
        version = self._registry.get_version(model, version_id) if version_id else None
        if version is None:
            raise ModelNotFound(f"Model {model.model_id} has no version {version_id!r}.")
        self._registry.delete_version(version.id)
        self.forget([version.id])

    def forget(self, removed: Iterable[str] = ()) -> None:
        """After models or versions changed: the artefacts of the ``removed`` versions go,
        and the directory forgets the routes it cached."""
        for version_id in removed:
            self._trainer.artifact_path(version_id).unlink(missing_ok=True)
        self._directory.forget()

    def _custom(self, model: Model, version_id: str = "") -> CustomModel:
        version = self._registry.get_version(model, version_id) if version_id else None
        training = self._directory.training(version) if version is not None else None
        concepts = tuple(self._registry.model_concepts(model))
        return CustomModel(model, concepts, version, training)


def _model_concepts(concepts: Iterable[Concept]) -> list[Concept]:
    """A custom model's concepts, each named (by its id when no name is given)."""
    checked = []
    for concept in concepts:
        if not concept.id or len(concept.id) > MAX_ID_LENGTH:
            raise InvalidParameter(
                f"Every concept of a model needs an id of 1 to {MAX_ID_LENGTH} characters.",
                parameter="concepts",
            )
        if len(concept.name) > MAX_NAME_LENGTH:
            raise InvalidParameter(
                f"Concept {concept.id}'s name is {len(concept.name)} characters; the limit is "
                f"{MAX_NAME_LENGTH}.",
                parameter="concepts",
            )
        checked.append(Concept(concept.id, concept.name or concept.id))
    return checked
