"""The Clarifai RPCs of a user's workspace: apps, inputs, custom models and their training.

A user sees and changes only their own apps; ``clarion/main`` is read-only to everyone.
Handlers take the same ``(request, caller)`` as :mod:`.handlers` and raise
:class:`ClarionError` for the shared dispatcher to turn into a status.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf import json_format

from clarion.api.clarifai import convert
from clarion.api.clarifai.rpcs import RPCS
from clarion.config import Settings
from clarion.directory import ModelDirectory
from clarion.errors import InvalidParameter, InvalidRequest, ModelNotFound, ResourceNotFound
from clarion.images import decode_image
from clarion.input_files import InputFiles
from clarion.inputs import UrlFetcher
from clarion.registry import Page, Registry
from clarion.registry.workspace import InputRecord
from clarion.training import Trainer

CUSTOM_MODEL_TYPE = "embedding-classifier"
MAX_INPUTS_PER_REQUEST = 128


class WorkspaceHandlers:
    RPCS = (
        "PostApps", "ListApps", "GetApp", "DeleteApp",
        "PostInputs", "ListInputs", "GetInput", "DeleteInputs",
        "PostModels", "PatchModels", "DeleteModel", "PostModelVersions", "DeleteModelVersion",
    )  # fmt: skip

    def __init__(
        self,
        registry: Registry,
        directory: ModelDirectory,
        trainer: Trainer,
        fetcher: UrlFetcher,
        files: InputFiles,
        settings: Settings,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._trainer = trainer
        self._fetcher = fetcher
        self._files = files
        self._settings = settings

    # apps ----------------------------------------------------------------------------

    async def PostApps(self, request: service_pb2.PostAppsRequest, caller: Any) -> Any:
        user_id = caller.principal.user_id
        apps = []
        for app in request.apps:
            if not app.id:
                raise InvalidRequest("Each app needs an id.")
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
        self._files.remove(files)
        for version_id in versions:
            self._trainer.artifact_path(version_id).unlink(missing_ok=True)
        self._directory.forget()
        return _done()

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
        if not 1 <= len(request.inputs) <= MAX_INPUTS_PER_REQUEST:
            raise InvalidRequest(
                f"PostInputs takes 1 to {MAX_INPUTS_PER_REQUEST} inputs, got {len(request.inputs)}."
            )
        records, written = [], []
        try:
            for item in request.inputs:
                record, data = await self._stored_input(user_id, app_id, item)
                if data is not None and record.file is not None:
                    self._files.write(self._files.path_for(user_id, app_id, record.input_id), data)
                    written.append(record.file)
                records.append(record)
            existing = self._registry.add_inputs(user_id, app_id, records)
        except BaseException:
            self._files.remove(written)
            raise
        if existing:
            raise InvalidRequest(f"Inputs with these ids already exist: {', '.join(existing)}.")
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=[self._input_pb(r) for r in records]
        )

    async def _stored_input(
        self, user_id: str, app_id: str, item: resources_pb2.Input
    ) -> tuple[InputRecord, bytes | None]:
        input_id = item.id or uuid.uuid4().hex
        concepts = {}
        for concept in item.data.concepts:
            if not concept.id:
                raise InvalidParameter(f"Input {input_id}: every concept needs an id.")
            if concept.value not in (0.0, 1.0):
                raise InvalidParameter(
                    f"Input {input_id}: concept values must be 1 or 0, got {concept.value:g}."
                )
            concepts[concept.id] = float(concept.value)
        data = item.data
        if data.image.base64 or data.image.url:
            raw = data.image.base64 or await self._fetcher.fetch(data.image.url)
            decode_image(raw, self._settings.max_image_pixels)  # refuse what could not be used
            path = str(self._files.path_for(user_id, app_id, input_id))
            return InputRecord(input_id, "image", None, path, concepts, _now()), raw
        if data.text.url:
            text = (await self._fetcher.fetch(data.text.url)).decode("utf-8", errors="strict")
        else:
            text = data.text.raw
        if not text.strip():
            raise InvalidRequest(f"Input {input_id} has no text or image.")
        return InputRecord(input_id, "text", text, None, concepts, _now()), None

    def _input_pb(self, record: InputRecord) -> resources_pb2.Input:
        item = resources_pb2.Input(id=record.input_id)
        item.created_at.CopyFrom(convert.timestamp(record.created_at))
        if record.text is not None:
            item.data.text.raw = record.text
        for concept_id, value in record.concepts.items():
            item.data.concepts.add(id=concept_id, value=value)
        return item

    async def ListInputs(self, request: service_pb2.ListInputsRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        page = Page(request.page, request.per_page)
        records = self._registry.list_inputs(
            user_id, app_id, page.offset, page.limit, ids=list(request.ids)
        )
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=[self._input_pb(r) for r in records]
        )

    async def GetInput(self, request: service_pb2.GetInputRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.readable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        found = self._registry.list_inputs(user_id, app_id, ids=[request.input_id])
        if not found:
            raise ResourceNotFound(f"Input {request.input_id!r} does not exist.")
        return service_pb2.SingleInputResponse(
            status=convert.ok_status(), input=self._input_pb(found[0])
        )

    async def DeleteInputs(self, request: service_pb2.DeleteInputsRequest, caller: Any) -> Any:
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        self._files.remove(self._registry.delete_inputs(user_id, app_id, list(request.ids)))
        return _done()

    # custom models -------------------------------------------------------------------

    async def PostModels(self, request: service_pb2.PostModelsRequest, caller: Any) -> Any:
        model = request.model if request.HasField("model") else None
        if model is None and request.models:
            model = request.models[0]
        if model is None or not model.id:
            raise InvalidRequest("PostModels needs a model with an id.")
        user_id, app_id = self._directory.writable_app(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id
        )
        if model.model_type_id != CUSTOM_MODEL_TYPE:
            raise InvalidParameter(
                f"model_type_id must be {CUSTOM_MODEL_TYPE!r} (the kind Clarion trains), "
                f"got {model.model_type_id!r}.",
                parameter="model_type_id",
            )
        if self._registry.get_model(user_id, app_id, model.id) is not None:
            raise InvalidRequest(f"Model {user_id}/{app_id}/models/{model.id} already exists.")
        record = self._registry.ensure_model(
            user_id, app_id, model.id, model_type_id=CUSTOM_MODEL_TYPE,
            name=model.name or model.id, description=model.description,
        )  # fmt: skip
        self._registry.set_model_config(record, {"concepts": _concepts(model)})
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
            current = {c["id"]: c for c in self._registry.model_config(record).get("concepts", [])}
            given = {c["id"]: c for c in _concepts(model)}
            if action == "overwrite":
                current = given
            elif action == "merge":
                current.update(given)
            else:
                current = {k: v for k, v in current.items() if k not in given}
            self._registry.set_model_config(record, {"concepts": list(current.values())})
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
        return _done()

    async def PostModelVersions(
        self, request: service_pb2.PostModelVersionsRequest, caller: Any
    ) -> Any:
        record = self._directory.writable_model(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id,
            request.model_id,
        )  # fmt: skip
        if record.model_type_id != CUSTOM_MODEL_TYPE:
            raise InvalidRequest(f"Model {record.model_id} is not trainable.")
        params: dict[str, Any] = {"description": request.description}
        for version in request.model_versions:
            if version.train_info.HasField("params"):
                params.update(json_format.MessageToDict(version.train_info.params))
            params["description"] = version.description or params["description"]
        created = self._trainer.start(record, params)
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
        return _done()

    def _model_pb(self, record: Any, version_id: str = "") -> resources_pb2.Model:
        version = self._registry.get_version(record, version_id) if version_id else None
        training = self._directory.training(version) if version is not None else None
        model = convert.model_pb(record, version, training=training)
        concepts = self._registry.model_config(record).get("concepts", [])
        model.output_info.data.concepts.extend(
            resources_pb2.Concept(id=c["id"], name=c.get("name") or c["id"], value=1.0)
            for c in concepts
        )
        return model


def _done() -> Any:
    """The empty success reply of the Delete* RPCs (clarifai-grpc's ``BaseResponse``)."""
    return RPCS["DeleteApp"].response_class(status=convert.ok_status())


def _concepts(model: resources_pb2.Model) -> list[dict[str, str]]:
    concepts = []
    for concept in model.output_info.data.concepts:
        if not concept.id:
            raise InvalidParameter("Every concept of a model needs an id.", parameter="concepts")
        concepts.append({"id": concept.id, "name": concept.name or concept.id})
    return concepts


def _now() -> datetime:
    return datetime.now(UTC)
