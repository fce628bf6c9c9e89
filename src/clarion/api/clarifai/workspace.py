"""The Clarifai RPCs of a user's workspace: apps, inputs, custom models and their training.

A user sees and changes only their own apps; ``clarion/main`` is read-only to everyone.
Handlers take the same ``(request, caller)`` as :mod:`.handlers` and raise
:class:`ClarionError` for the shared dispatcher to turn into a status.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf import json_format
from PIL import Image

from clarion import training_params
from clarion.api.clarifai import convert
from clarion.api.clarifai.rpcs import RPCS
from clarion.config import Settings
from clarion.datasets import DatasetVersions
from clarion.directory import ModelDirectory
from clarion.domain.models import Model
from clarion.domain.values import Concept, InputKind
from clarion.domain.workspace import InputPatch, PatchAction, StoredInput
from clarion.errors import (
    InputInvalid,
    InputOverLimit,
    InvalidParameter,
    InvalidRequest,
    ModelNotFound,
    ResourceNotFound,
)
from clarion.images import decode_image
from clarion.input_files import InputFiles
from clarion.inputs import UrlFetcher
from clarion.registry import Page, Registry
from clarion.training import Trainer

CUSTOM_MODEL_TYPE = "embedding-classifier"
MAX_INPUTS_PER_REQUEST = 128
MAX_METADATA_BYTES = 16 * 1024
MAX_IDS_PER_REQUEST = 1000
#: The longest concept name, job id and descriptions the registry's columns hold.
MAX_NAME_LENGTH = 256
MAX_JOB_ID_LENGTH = 128
MAX_APP_ID_LENGTH = 64
MAX_MODEL_ID_LENGTH = 128
MAX_APP_DESCRIPTION = 1000
MAX_DESCRIPTION = 2000
INPUT_DOWNLOAD_SUCCESS = 30000


class WorkspaceHandlers:
    RPCS = (
        "PostApps", "ListApps", "GetApp", "DeleteApp",
        "PostInputs", "ListInputs", "GetInput", "DeleteInputs", "PatchInputs", "GetInputCount",
        "GetInputsAddJob",
        "PostModels", "PatchModels", "DeleteModel", "DeleteModels", "PostModelVersions",
        "DeleteModelVersion",
    )  # fmt: skip

    def __init__(
        self,
        registry: Registry,
        directory: ModelDirectory,
        trainer: Trainer,
        fetcher: UrlFetcher,
        files: InputFiles,
        settings: Settings,
        versions: DatasetVersions,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._trainer = trainer
        self._fetcher = fetcher
        self._files = files
        self._settings = settings
        self._versions = versions

    # apps ----------------------------------------------------------------------------

    async def PostApps(self, request: service_pb2.PostAppsRequest, caller: Any) -> Any:
        user_id = caller.principal.user_id
        apps = []
        for app in request.apps:
            if not app.id:
                raise InvalidRequest("Each app needs an id.")
            bounded_text(app.id, "An app id", MAX_APP_ID_LENGTH)
            bounded_text(app.description, "An app's description", MAX_APP_DESCRIPTION)
            if self._registry.app_exists(user_id, app.id):
                raise InvalidRequest(f"App {user_id}/{app.id} already exists.")
            self._registry.ensure_app(user_id, app.id, description=app.description)
            apps.append(self._app_pb(user_id, app.id))
        return service_pb2.MultiAppResponse(status=convert.ok_status(), apps=apps)

    async def ListApps(self, request: service_pb2.ListAppsRequest, caller: Any) -> Any:
        page = Page(request.page, request.per_page)
        records = self._registry.list_apps(caller.principal.user_id, page.offset, page.limit)
        return service_pb2.MultiAppResponse(
            status=convert.ok_status(),
            apps=[self._app_pb(r.user_id, r.app_id) for r in records],
        )

    async def GetApp(self, request: service_pb2.GetAppRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        return service_pb2.SingleAppResponse(
            status=convert.ok_status(), app=self._app_pb(user_id, app_id)
        )

    async def DeleteApp(self, request: service_pb2.DeleteAppRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        files, versions = self._registry.delete_app(user_id, app_id)
        self._versions.remove_files(files)
        for version_id in versions:
            self._trainer.artifact_path(version_id).unlink(missing_ok=True)
        self._directory.forget()
        return done()

    def _app_pb(self, user_id: str, app_id: str) -> resources_pb2.App:
        record = self._registry.get_app(user_id, app_id)
        app = resources_pb2.App(id=app_id, user_id=user_id)
        if record is not None:
            app.description = record.description
            app.created_at.CopyFrom(convert.timestamp(record.created_at))
        return app

    # inputs --------------------------------------------------------------------------

    async def PostInputs(self, request: service_pb2.PostInputsRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        job_id = bounded_text(request.inputs_add_job_id, "inputs_add_job_id", MAX_JOB_ID_LENGTH)
        try:
            records = await self._store_inputs(user_id, app_id, request.inputs)
        except BaseException:
            if job_id:
                self._registry.record_input_job(user_id, app_id, job_id, 0, len(request.inputs))
            raise
        if job_id:
            self._registry.record_input_job(user_id, app_id, job_id, len(records), 0)
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=[input_pb(r) for r in records]
        )

    async def _store_inputs(self, user_id: str, app_id: str, inputs: Any) -> list[StoredInput]:
        """Store the inputs, all or none."""
        if not 1 <= len(inputs) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PostInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, got {len(inputs)}."
            )
        ids = [i.id for i in inputs if i.id]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise InvalidRequest(f"Input ids repeat in the request: {', '.join(repeated)}.")
        records, written = [], []
        labels = [Concept(c.id, c.name, c.value) for item in inputs for c in item.data.concepts]
        try:
            for item in inputs:
                record, data = await self._stored_input(user_id, app_id, item)
                if data is not None and record.file is not None:
                    self._files.write(self._files.path_for(user_id, app_id, record.input_id), data)
                    written.append(record.file)
                records.append(record)
            existing = self._registry.add_inputs(
                user_id, app_id, records, {c.id: c.name for c in labels if c.name}
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
        return records

    async def _stored_input(
        self, user_id: str, app_id: str, item: resources_pb2.Input
    ) -> tuple[StoredInput, bytes | None]:
        input_id = item.id or uuid.uuid4().hex
        if len(input_id) > 128 or "/" in input_id:
            raise InvalidRequest(
                f"Input ids are 1 to 128 characters without '/', got {input_id[:140]!r}."
            )
        concepts = _labels(input_id, item.data.concepts)
        metadata = _metadata(input_id, item.data)
        data = item.data
        datasets = tuple(item.dataset_ids)
        if data.image.base64 or data.image.url:
            raw = data.image.base64 or await self._fetcher.fetch(data.image.url)
            # Refuse what could not be used; decoded off the event loop, reduced as it decodes.
            await asyncio.to_thread(decode_image, raw, self._settings.max_image_pixels)
            path = str(self._files.path_for(user_id, app_id, input_id))
            record = StoredInput(
                input_id, InputKind.IMAGE, None, path, concepts, _now(), metadata, datasets
            )
            return record, raw
        if data.text.url:
            fetched = await self._fetcher.fetch(data.text.url)
            try:
                text = fetched.decode("utf-8", errors="strict")
            except UnicodeDecodeError as exc:
                raise InputInvalid(
                    f"Input {input_id}: the text at its URL is not valid UTF-8 (byte {exc.start})."
                ) from None
        else:
            text = data.text.raw
        size = len(text.encode())
        if size > self._settings.max_text_bytes:
            raise InputOverLimit(
                f"Input {input_id}: the text is {size} bytes; the limit is "
                f"{self._settings.max_text_bytes} bytes (CLARION_MAX_TEXT_BYTES)."
            )
        if not text.strip():
            raise InvalidRequest(f"Input {input_id} has no text or image.")
        record = StoredInput(
            input_id, InputKind.TEXT, text, None, concepts, _now(), metadata, datasets
        )
        return record, None

    async def ListInputs(self, request: service_pb2.ListInputsRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        page = Page(request.page, request.per_page)
        records = self._registry.list_inputs(
            user_id, app_id, page.offset, page.limit, ids=list(request.ids)
        )
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=await inputs_pb(records)
        )

    async def GetInput(self, request: service_pb2.GetInputRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        found = self._registry.list_inputs(user_id, app_id, ids=[request.input_id])
        if not found:
            raise ResourceNotFound(f"Input {request.input_id!r} does not exist.")
        return service_pb2.SingleInputResponse(
            status=convert.ok_status(), input=input_pb(found[0], with_bytes=True)
        )

    async def DeleteInputs(self, request: service_pb2.DeleteInputsRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        ids = bounded_ids(request.ids, "input")
        self._files.remove(self._registry.delete_inputs(user_id, app_id, ids))
        return done()

    async def PatchInputs(self, request: service_pb2.PatchInputsRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        action = request.action or "merge"
        if action not in ("merge", "overwrite", "remove"):
            raise InvalidRequest(f"action must be merge, overwrite or remove, got {action!r}.")
        if not 1 <= len(request.inputs) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PatchInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, "
                f"got {len(request.inputs)}."
            )
        changes = []
        for item in request.inputs:
            if not item.id:
                raise InvalidRequest("Each input to patch needs its id.")
            _labels(item.id, item.data.concepts)
            labels = tuple(Concept(c.id, c.name, c.value) for c in item.data.concepts)
            changes.append(InputPatch(item.id, labels, _metadata(item.id, item.data)))
        names = {c.id: c.name for change in changes for c in change.labels if c.name}
        try:
            records = self._registry.patch_inputs(
                user_id, app_id, changes, PatchAction(action), names
            )
        except KeyError as missing:
            raise ResourceNotFound(
                f"These inputs do not exist in {user_id}/{app_id}: {missing.args[0]}; "
                "nothing was changed."
            ) from None
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=[input_pb(r) for r in records]
        )

    async def GetInputCount(self, request: service_pb2.GetInputCountRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        counts = resources_pb2.InputCount(processed=self._registry.count_inputs(user_id, app_id))
        return service_pb2.SingleInputCountResponse(status=convert.ok_status(), counts=counts)

    async def GetInputsAddJob(
        self, request: service_pb2.GetInputsAddJobRequest, caller: Any
    ) -> Any:
        """Inputs are stored before PostInputs answers, so a known job is always finished."""
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        job = self._registry.input_job(user_id, app_id, request.id)
        if job is None:
            raise ResourceNotFound(
                f"No inputs add job {request.id!r} in {user_id}/{app_id}; jobs are named by "
                "PostInputs' inputs_add_job_id."
            )
        pb = resources_pb2.InputsAddJob(id=job.job_id)
        pb.created_at.CopyFrom(convert.timestamp(job.created_at))
        pb.progress.success_count = job.succeeded
        pb.progress.failed_count = job.failed
        pb.status.code = 64002  # JOB_COMPLETED
        pb.status.description = "Job completed"
        return service_pb2.SingleInputsAddJobResponse(status=convert.ok_status(), inputs_add_job=pb)

    # custom models -------------------------------------------------------------------

    async def PostModels(self, request: service_pb2.PostModelsRequest, caller: Any) -> Any:
        model = request.model if request.HasField("model") else None
        if model is None and request.models:
            model = request.models[0]
        if model is None or not model.id:
            raise InvalidRequest("PostModels needs a model with an id.")
        bounded_text(model.id, "A model id", MAX_MODEL_ID_LENGTH)
        bounded_text(model.name, "A model's name", MAX_NAME_LENGTH)
        bounded_text(model.description, "A model's description", MAX_DESCRIPTION)
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        if model.model_type_id != CUSTOM_MODEL_TYPE:
            raise InvalidParameter(
                f"model_type_id must be {CUSTOM_MODEL_TYPE!r} (the kind Clarion trains), "
                f"got {model.model_type_id!r}.",
                parameter="model_type_id",
            )
        concepts = _concepts(model)  # checked before anything is created
        if self._registry.get_model(user_id, app_id, model.id) is not None:
            raise InvalidRequest(f"Model {user_id}/{app_id}/models/{model.id} already exists.")
        record = self._registry.ensure_model(
            user_id, app_id, model.id, model_type_id=CUSTOM_MODEL_TYPE,
            name=model.name or model.id, description=model.description,
        )  # fmt: skip
        self._registry.set_model_concepts(record, concepts)
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=self._model_pb(record)
        )

    async def PatchModels(self, request: service_pb2.PatchModelsRequest, caller: Any) -> Any:
        action = request.action or "merge"
        if action not in ("merge", "overwrite", "remove"):
            raise InvalidParameter(
                f"action must be merge, overwrite or remove, got {action!r}.", parameter="action"
            )
        patched = []
        for model in request.models:
            record = self._directory.writable_model(
                caller.principal, request.user_app_id.user_id, request.user_app_id.app_id, model.id
            )
            current = {c.id: c for c in self._registry.model_concepts(record)}
            given = {c.id: c for c in _concepts(model)}
            if action == "overwrite":
                current = given
            elif action == "merge":
                current.update(given)
            else:
                current = {k: v for k, v in current.items() if k not in given}
            self._registry.set_model_concepts(record, list(current.values()))
            patched.append(self._model_pb(record))
        return service_pb2.MultiModelResponse(status=convert.ok_status(), models=patched)

    async def DeleteModel(self, request: service_pb2.DeleteModelRequest, caller: Any) -> Any:
        record = self._directory.writable_model(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id,
            request.model_id,
        )  # fmt: skip
        for version_id in self._registry.delete_model(record):
            self._trainer.artifact_path(version_id).unlink(missing_ok=True)
        self._directory.forget()
        return done()

    async def DeleteModels(self, request: service_pb2.DeleteModelsRequest, caller: Any) -> Any:
        ids = bounded_ids(list(request.ids) or [m.id for m in request.models], "model")
        if not ids or request.delete_all:
            raise InvalidRequest("DeleteModels needs the ids of the models to delete.")
        records = [
            self._directory.writable_model(
                caller.principal, request.user_app_id.user_id, request.user_app_id.app_id, i
            )
            for i in ids
        ]
        for record in records:
            for version_id in self._registry.delete_model(record):
                self._trainer.artifact_path(version_id).unlink(missing_ok=True)
        self._directory.forget()
        return done()

    async def PostModelVersions(
        self, request: service_pb2.PostModelVersionsRequest, caller: Any
    ) -> Any:
        """Train a new version: ``train_info.params`` and ``output_info`` as the official SDK
        writes them (see :mod:`clarion.training_params`)."""
        record = self._directory.writable_model(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id,
            request.model_id,
        )  # fmt: skip
        if record.model_type_id != CUSTOM_MODEL_TYPE:
            raise InvalidRequest(f"Model {record.model_id} is not trainable.")
        if len(request.model_versions) > 1:
            raise InvalidRequest("PostModelVersions trains one version at a time.")
        version = (
            request.model_versions[0] if request.model_versions else resources_pb2.ModelVersion()
        )
        params: dict[str, Any] = {}
        if version.train_info.HasField("params"):
            params = json_format.MessageToDict(version.train_info.params)
        inference: dict[str, Any] = {}
        if version.output_info.HasField("params"):
            inference = json_format.MessageToDict(version.output_info.params)
        parsed = training_params.parse(
            params, inference, version.output_info.output_config.concepts_mutually_exclusive
        )
        description = version.description or request.description or parsed.description
        bounded_text(description, "A model version's description", MAX_DESCRIPTION)
        parsed = replace(parsed, description=description)
        concept_ids = []
        for concept in version.output_info.data.concepts:
            if not concept.id:
                raise InvalidParameter("Every concept needs an id.", parameter="concepts")
            concept_ids.append(concept.id)
        created = self._trainer.start(record, parsed, concept_ids)
        self._directory.forget()
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=self._model_pb(record, created.id)
        )

    async def DeleteModelVersion(
        self, request: service_pb2.DeleteModelVersionRequest, caller: Any
    ) -> Any:
        record = self._directory.writable_model(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id,
            request.model_id,
        )  # fmt: skip
        version = self._registry.get_version(record, request.version_id)
        if version is None or not request.version_id:
            raise ModelNotFound(f"Model {record.model_id} has no version {request.version_id!r}.")
        self._registry.delete_version(version.id)
        self._trainer.artifact_path(version.id).unlink(missing_ok=True)
        self._directory.forget()
        return done()

    def _model_pb(self, record: Model, version_id: str = "") -> resources_pb2.Model:
        version = self._registry.get_version(record, version_id) if version_id else None
        training = self._directory.training(version) if version is not None else None
        model = convert.model_pb(record, version, training=training)
        model.output_info.data.concepts.extend(
            convert.concepts_pb(self._registry.model_concepts(record))
        )
        return model


def done() -> Any:
    """The empty success reply of the Delete* RPCs (clarifai-grpc's ``BaseResponse``)."""
    return RPCS["DeleteApp"].response_class(status=convert.ok_status())


def bounded_ids(ids: Any, kind: str) -> list[str]:
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


async def inputs_pb(records: Sequence[StoredInput]) -> list[resources_pb2.Input]:
    """A page of stored inputs, their image headers read in a worker thread."""
    return await asyncio.to_thread(lambda: [input_pb(r) for r in records])


def input_pb(record: StoredInput, *, with_bytes: bool = False) -> resources_pb2.Input:
    """A stored input; an image carries its size and format (and its bytes when asked)."""
    item = resources_pb2.Input(id=record.input_id)
    item.created_at.CopyFrom(convert.timestamp(record.created_at))
    item.status.code = INPUT_DOWNLOAD_SUCCESS
    item.status.description = "Download complete"
    if record.text is not None:
        item.data.text.raw = record.text
    if record.file is not None:
        try:
            with Image.open(record.file) as image:
                width, height, kind = image.width, image.height, image.format or ""
            item.data.image.image_info.width = width
            item.data.image.image_info.height = height
            item.data.image.image_info.format = kind
            if with_bytes:
                item.data.image.base64 = Path(record.file).read_bytes()
        except OSError:
            item.data.image.image_info.format = "missing"
    for concept_id, value in record.concepts.items():
        item.data.concepts.add(id=concept_id, name=concept_id, value=value)
    if record.metadata:
        item.data.metadata.update(record.metadata)
    return item


def _labels(input_id: str, concepts: Any) -> dict[str, float]:
    labels = {}
    for concept in concepts:
        if not concept.id or len(concept.id) > 128:
            raise InvalidParameter(
                f"Input {input_id}: every concept needs an id of 1 to 128 characters."
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
        labels[concept.id] = float(concept.value)
    return labels


def _metadata(input_id: str, data: resources_pb2.Data) -> dict[str, Any]:
    if not data.HasField("metadata"):
        return {}
    metadata: dict[str, Any] = json_format.MessageToDict(data.metadata)
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise InvalidRequest(
            f"Input {input_id}: metadata is over {MAX_METADATA_BYTES} bytes as JSON."
        )
    return metadata


def _concepts(model: resources_pb2.Model) -> list[Concept]:
    concepts = []
    for concept in model.output_info.data.concepts:
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
        concepts.append(Concept(concept.id, concept.name or concept.id))
    return concepts


def _now() -> datetime:
    return datetime.now(UTC)
