"""WorkspaceService: a user's apps, stored inputs, custom models and their versions.

A user sees and changes only their own apps; ``clarion/main`` is read-only to everyone
(:class:`ModelDirectory` says who may do what). Inputs are decoded by the one
:class:`InputDecoder`, with the rules and size limits of predictions, before anything is
stored; an input's image bytes are written before its row and removed again when the row is
not written, so nothing is half stored.

    workspace = WorkspaceService(registry, directory, trainer, decoder, files, versions)
    stored = await workspace.add_inputs(principal, "me", "news", [NewInput(RawInput(text="Hi"))])
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from clarion import training_params
from clarion.auth import Principal
from clarion.datasets import DatasetVersions
from clarion.directory import ModelDirectory
from clarion.domain.models import Model, ModelVersion, TrainingState
from clarion.domain.values import Concept, InputKind, RawInput
from clarion.domain.workspace import (
    App,
    InputPatch,
    InputsAddJob,
    NewInput,
    PatchAction,
    StoredInput,
)
from clarion.errors import (
    InputError,
    InvalidParameter,
    InvalidRequest,
    ModelNotFound,
    ResourceNotFound,
)
from clarion.input_files import InputFiles
from clarion.inputs import InputDecoder
from clarion.registry import Page, Registry
from clarion.training import Trainer

#: The model type Clarion trains (a concept head on a built-in embedder).
CUSTOM_MODEL_TYPE = "embedding-classifier"
MAX_INPUTS_PER_REQUEST = 128
MAX_METADATA_BYTES = 16 * 1024
MAX_IDS_PER_REQUEST = 1000
#: The longest ids, names and descriptions the registry's columns hold.
MAX_INPUT_ID_LENGTH = 128
MAX_CONCEPT_ID_LENGTH = 128
MAX_NAME_LENGTH = 256
MAX_JOB_ID_LENGTH = 128
MAX_APP_ID_LENGTH = 64
MAX_MODEL_ID_LENGTH = 128
MAX_APP_DESCRIPTION = 1000
MAX_DESCRIPTION = 2000


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


class WorkspaceService:
    """Apps, inputs, custom models and their versions, on behalf of a principal."""

    def __init__(
        self,
        registry: Registry,
        directory: ModelDirectory,
        trainer: Trainer,
        decoder: InputDecoder,
        files: InputFiles,
        versions: DatasetVersions,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._trainer = trainer
        self._decoder = decoder
        self._files = files
        self._versions = versions

    # apps ----------------------------------------------------------------------------

    def create_app(self, principal: Principal, app_id: str, description: str = "") -> App:
        user_id = principal.user_id
        if not app_id:
            raise InvalidRequest("Each app needs an id.")
        bounded_text(app_id, "An app id", MAX_APP_ID_LENGTH)
        bounded_text(description, "An app's description", MAX_APP_DESCRIPTION)
        if self._registry.app_exists(user_id, app_id):
            raise InvalidRequest(f"App {user_id}/{app_id} already exists.")
        self._registry.ensure_app(user_id, app_id, description=description)
        return self._app(user_id, app_id)

    def list_apps(self, principal: Principal, page: Page) -> list[App]:
        return self._registry.list_apps(principal.user_id, page.offset, page.limit)

    def get_app(self, principal: Principal, user_id: str, app_id: str) -> App:
        return self._app(*self._directory.readable_app(principal, user_id, app_id))

    def delete_app(self, principal: Principal, user_id: str, app_id: str) -> None:
        """Delete an app with everything in it: inputs, datasets, models and versions."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        files, versions = self._registry.delete_app(user_id, app_id)
        self._versions.remove_files(files)
        self._models_changed(removed=versions)

    def _app(self, user_id: str, app_id: str) -> App:
        app = self._registry.get_app(user_id, app_id)
        if app is None:
            raise ResourceNotFound(f"App {user_id}/{app_id} does not exist.")
        return app

    # inputs --------------------------------------------------------------------------

    async def add_inputs(
        self,
        principal: Principal,
        user_id: str,
        app_id: str,
        inputs: Sequence[NewInput],
        job_id: str = "",
    ) -> list[StoredInput]:
        """Store the inputs, all or none. ``job_id`` (an inputs add job) counts them, as
        stored or as failed."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        bounded_text(job_id, "inputs_add_job_id", MAX_JOB_ID_LENGTH)
        try:
            stored = await self._store_inputs(user_id, app_id, inputs)
        except BaseException:
            if job_id:
                self._registry.record_input_job(user_id, app_id, job_id, 0, len(inputs))
            raise
        if job_id:
            self._registry.record_input_job(user_id, app_id, job_id, len(stored), 0)
        return stored

    async def _store_inputs(
        self, user_id: str, app_id: str, inputs: Sequence[NewInput]
    ) -> list[StoredInput]:
        if not 1 <= len(inputs) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PostInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, got {len(inputs)}."
            )
        ids = [i.raw.id for i in inputs if i.raw.id]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise InvalidRequest(f"Input ids repeat in the request: {', '.join(repeated)}.")
        stored: list[StoredInput] = []
        written: list[str] = []
        try:
            for item in inputs:
                record, data = await self._stored_input(user_id, app_id, item)
                if data is not None and record.file is not None:
                    self._files.write(self._files.path_for(user_id, app_id, record.input_id), data)
                    written.append(record.file)
                stored.append(record)
            existing = self._registry.add_inputs(
                user_id, app_id, stored, _given_names(c for i in inputs for c in i.labels)
            )
        except KeyError as missing:
            self._files.remove(written)
            raise InvalidRequest(
                f"No dataset {missing.args[0]} in {user_id}/{app_id}; create it with "
                "PostDatasets first. Nothing was stored."
            ) from None
        except BaseException:
            self._files.remove(written)
            raise
        if existing:
            self._files.remove(written)
            raise InvalidRequest(
                f"Inputs with these ids already exist: {', '.join(existing)}. Nothing was stored."
            )
        return stored

    async def _stored_input(
        self, user_id: str, app_id: str, item: NewInput
    ) -> tuple[StoredInput, bytes | None]:
        """The input as it will be stored, and the image bytes to write for it."""
        input_id = item.raw.id or uuid.uuid4().hex
        if len(input_id) > MAX_INPUT_ID_LENGTH or "/" in input_id:
            raise InvalidRequest(
                f"Input ids are 1 to {MAX_INPUT_ID_LENGTH} characters without '/', "
                f"got {input_id[:140]!r}."
            )
        concepts = _labels(input_id, item.labels)
        metadata = _bounded_metadata(input_id, item.metadata)
        raw = replace(item.raw, id=input_id)
        now = datetime.now(UTC)
        try:
            if raw.image_bytes or raw.image_url:
                # An image input's text, if any, is not kept.
                data = await self._decoder.image_bytes(raw)
                # Refuse what could not be used: decoded as for a prediction, then dropped.
                await self._decoder.decode(RawInput(input_id, image_bytes=data), InputKind.IMAGE)
                path = str(self._files.path_for(user_id, app_id, input_id))
                image = StoredInput(
                    input_id, InputKind.IMAGE, None, path, concepts, now, metadata,
                    item.dataset_ids,
                )  # fmt: skip
                return image, data
            decoded = await self._decoder.decode(raw, InputKind.TEXT)
        except InputError as exc:
            raise type(exc)(f"Input {input_id}: {exc.details}") from exc
        text = StoredInput(
            input_id, InputKind.TEXT, decoded.text, None, concepts, now, metadata,
            item.dataset_ids,
        )  # fmt: skip
        return text, None

    def list_inputs(
        self, principal: Principal, user_id: str, app_id: str, page: Page, ids: Sequence[str] = ()
    ) -> list[StoredInput]:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._registry.list_inputs(user_id, app_id, page.offset, page.limit, ids=ids)

    def get_input(
        self, principal: Principal, user_id: str, app_id: str, input_id: str
    ) -> StoredInput:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        found = self._registry.list_inputs(user_id, app_id, ids=[input_id])
        if not found:
            raise ResourceNotFound(f"Input {input_id!r} does not exist.")
        return found[0]

    def delete_inputs(
        self, principal: Principal, user_id: str, app_id: str, ids: Sequence[str]
    ) -> None:
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        ids = bounded_ids(ids, "input")
        self._files.remove(self._registry.delete_inputs(user_id, app_id, ids))

    def patch_inputs(
        self,
        principal: Principal,
        user_id: str,
        app_id: str,
        patches: Sequence[InputPatch],
        action: str = "",
    ) -> list[StoredInput]:
        """Change inputs' labels and metadata, all or none (``action``: merge, the default,
        overwrite or remove; see :meth:`InputPatch.applied`)."""
        user_id, app_id = self._directory.writable_app(principal, user_id, app_id)
        how = _action(action)
        if how is None:
            raise InvalidRequest(f"action must be merge, overwrite or remove, got {action!r}.")
        if not 1 <= len(patches) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PatchInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, got {len(patches)}."
            )
        for patch in patches:
            if not patch.input_id:
                raise InvalidRequest("Each input to patch needs its id.")
            _labels(patch.input_id, patch.labels)
            _bounded_metadata(patch.input_id, patch.metadata)
        names = _given_names(c for p in patches for c in p.labels)
        try:
            return self._registry.patch_inputs(user_id, app_id, patches, how, names)
        except KeyError as missing:
            raise ResourceNotFound(
                f"These inputs do not exist in {user_id}/{app_id}: {missing.args[0]}; "
                "nothing was changed."
            ) from None

    def count_inputs(self, principal: Principal, user_id: str, app_id: str) -> int:
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        return self._registry.count_inputs(user_id, app_id)

    def input_job(
        self, principal: Principal, user_id: str, app_id: str, job_id: str
    ) -> InputsAddJob:
        """Inputs are stored before PostInputs answers, so a known job is always finished."""
        user_id, app_id = self._directory.readable_app(principal, user_id, app_id)
        job = self._registry.input_job(user_id, app_id, job_id)
        if job is None:
            raise ResourceNotFound(
                f"No inputs add job {job_id!r} in {user_id}/{app_id}; jobs are named by "
                "PostInputs' inputs_add_job_id."
            )
        return job

    # custom models -------------------------------------------------------------------

    def create_model(
        self, principal: Principal, user_id: str, app_id: str, new: NewModel
    ) -> CustomModel:
        if not new.model_id:
            raise InvalidRequest("PostModels needs a model with an id.")
        bounded_text(new.model_id, "A model id", MAX_MODEL_ID_LENGTH)
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
        how = _action(action)
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
        self._models_changed(removed=removed)

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
        self._models_changed()
        return self._custom(model, created.id)

    def delete_version(
        self, principal: Principal, user_id: str, app_id: str, model_id: str, version_id: str
    ) -> None:
        model = self._directory.writable_model(principal, user_id, app_id, model_id)
        version = self._registry.get_version(model, version_id) if version_id else None
        if version is None:
            raise ModelNotFound(f"Model {model.model_id} has no version {version_id!r}.")
        self._registry.delete_version(version.id)
        self._models_changed(removed=[version.id])

    def _custom(self, model: Model, version_id: str = "") -> CustomModel:
        version = self._registry.get_version(model, version_id) if version_id else None
        training = self._directory.training(version) if version is not None else None
        concepts = tuple(self._registry.model_concepts(model))
        return CustomModel(model, concepts, version, training)

    def _models_changed(self, removed: Iterable[str] = ()) -> None:
        """After models or versions changed: the artefacts of the ``removed`` versions go,
        and the directory forgets the routes it cached."""
        for version_id in removed:
            self._trainer.artifact_path(version_id).unlink(missing_ok=True)
        self._directory.forget()


def bounded_ids(ids: Iterable[str], kind: str) -> list[str]:
    """The ids a Delete* request names, at most :data:`MAX_IDS_PER_REQUEST` of them."""
    found = list(ids)
    if len(found) > MAX_IDS_PER_REQUEST:
        raise InvalidRequest(
            f"Name at most {MAX_IDS_PER_REQUEST} {kind} ids a request, got {len(found)}."
        )
    return found


def bounded_text(value: str, name: str, limit: int) -> str:
    """``value`` when it is at most ``limit`` characters long, else a 400 naming ``name``."""
    if len(value) > limit:
        raise InvalidRequest(f"{name} is {len(value)} characters long; the limit is {limit}.")
    return value


def _action(value: str) -> PatchAction | None:
    try:
        return PatchAction(value or PatchAction.MERGE)
    except ValueError:
        return None


def _labels(input_id: str, labels: Iterable[Concept]) -> dict[str, float]:
    """An input's labels by concept id; each is 1 (positive) or 0 (negative)."""
    found = {}
    for concept in labels:
        if not concept.id or len(concept.id) > MAX_CONCEPT_ID_LENGTH:
            raise InvalidParameter(
                f"Input {input_id}: every concept needs an id of 1 to {MAX_CONCEPT_ID_LENGTH} "
                "characters."
            )
        if len(concept.name) > MAX_NAME_LENGTH:
            raise InvalidParameter(
                f"Input {input_id}: concept {concept.id}'s name is {len(concept.name)} "
                f"characters; the limit is {MAX_NAME_LENGTH}."
            )
        if concept.value not in (0.0, 1.0):
            raise InvalidParameter(
                f"Input {input_id}: concept values must be 1 or 0, got {concept.value:g}."
            )
        found[concept.id] = float(concept.value)
    return found


def _given_names(labels: Iterable[Concept]) -> dict[str, str]:
    """The names given with labels (a concept labelled without one is named by its id)."""
    return {c.id: c.name for c in labels if c.name}


def _bounded_metadata(input_id: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"Input {input_id}: metadata is over {MAX_METADATA_BYTES} bytes as JSON."
        )
    return dict(metadata)


def _model_concepts(concepts: Iterable[Concept]) -> list[Concept]:
    """A custom model's concepts, each named (by its id when no name is given)."""
    checked = []
    for concept in concepts:
        if not concept.id or len(concept.id) > MAX_MODEL_ID_LENGTH:
            raise InvalidParameter(
                f"Every concept of a model needs an id of 1 to {MAX_MODEL_ID_LENGTH} characters.",
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
