"""The Clarifai RPCs of a user's workspace: apps, inputs, custom models and their training.

Each handler converts its request into domain values, calls one of the services of
:class:`WorkspaceService` and converts the answer; it takes the same ``(request, caller)``
as :mod:`.handlers` and lets :class:`ClarionError` through for the shared dispatcher to turn
into a status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_pb2
from google.protobuf import json_format
from PIL import Image

from clarion.api.clarifai import convert
from clarion.api.clarifai.caller import Caller
from clarion.domain.values import Concept
from clarion.domain.workspace import App, InputPatch, NewInput, StoredInput
from clarion.errors import InvalidRequest
from clarion.registry import Page
from clarion.workspace import WorkspaceService
from clarion.workspace.models import CustomModel, ModelPatch, NewModel, Training

INPUT_DOWNLOAD_SUCCESS = 30000
JOB_COMPLETED = 64002


class WorkspaceHandlers:
    RPCS = (
        "PostApps", "ListApps", "GetApp", "DeleteApp",
        "PostInputs", "ListInputs", "GetInput", "DeleteInputs", "PatchInputs", "GetInputCount",
        "GetInputsAddJob",
        "PostModels", "PatchModels", "DeleteModel", "DeleteModels", "PostModelVersions",
        "DeleteModelVersion",
    )  # fmt: skip

    def __init__(self, workspace: WorkspaceService) -> None:
        self._workspace = workspace

    # apps ----------------------------------------------------------------------------

    async def PostApps(
        self, request: service_pb2.PostAppsRequest, caller: Caller
    ) -> service_pb2.MultiAppResponse:
        apps = [
            self._workspace.apps.create_app(caller.principal, app.id, app.description)
            for app in request.apps
        ]
        return service_pb2.MultiAppResponse(
            status=convert.ok_status(), apps=[app_pb(a) for a in apps]
        )

    async def ListApps(
        self, request: service_pb2.ListAppsRequest, caller: Caller
    ) -> service_pb2.MultiAppResponse:
        apps = self._workspace.apps.list_apps(
            caller.principal, Page(request.page, request.per_page)
        )
        return service_pb2.MultiAppResponse(
            status=convert.ok_status(), apps=[app_pb(a) for a in apps]
        )

    async def GetApp(
        self, request: service_pb2.GetAppRequest, caller: Caller
    ) -> service_pb2.SingleAppResponse:
        ids = request.user_app_id
        app = self._workspace.apps.get_app(caller.principal, ids.user_id, ids.app_id)
        return service_pb2.SingleAppResponse(status=convert.ok_status(), app=app_pb(app))

    async def DeleteApp(
        self, request: service_pb2.DeleteAppRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._workspace.apps.delete_app(caller.principal, ids.user_id, ids.app_id)
        return done()

    # inputs --------------------------------------------------------------------------

    async def PostInputs(
        self, request: service_pb2.PostInputsRequest, caller: Caller
    ) -> service_pb2.MultiInputResponse:
        ids = request.user_app_id
        new = [
            NewInput(
                convert.raw_input(item), labels(item.data.concepts), metadata(item.data),
                tuple(item.dataset_ids),
            )
            for item in request.inputs
        ]  # fmt: skip
        stored = await self._workspace.inputs.add_inputs(
            caller.principal, ids.user_id, ids.app_id, new, request.inputs_add_job_id
        )
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=[input_pb(r) for r in stored]
        )

    async def ListInputs(
        self, request: service_pb2.ListInputsRequest, caller: Caller
    ) -> service_pb2.MultiInputResponse:
        ids = request.user_app_id
        stored = self._workspace.inputs.list_inputs(
            caller.principal, ids.user_id, ids.app_id, Page(request.page, request.per_page),
            list(request.ids),
        )  # fmt: skip
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=await inputs_pb(stored)
        )

    async def GetInput(
        self, request: service_pb2.GetInputRequest, caller: Caller
    ) -> service_pb2.SingleInputResponse:
        ids = request.user_app_id
        stored = self._workspace.inputs.get_input(
            caller.principal, ids.user_id, ids.app_id, request.input_id
        )
        return service_pb2.SingleInputResponse(
            status=convert.ok_status(), input=input_pb(stored, with_bytes=True)
        )

    async def DeleteInputs(
        self, request: service_pb2.DeleteInputsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._workspace.inputs.delete_inputs(caller.principal, ids.user_id, ids.app_id, request.ids)
        return done()

    async def PatchInputs(
        self, request: service_pb2.PatchInputsRequest, caller: Caller
    ) -> service_pb2.MultiInputResponse:
        ids = request.user_app_id
        patches = [
            InputPatch(item.id, labels(item.data.concepts), metadata(item.data))
            for item in request.inputs
        ]
        stored = self._workspace.inputs.patch_inputs(
            caller.principal, ids.user_id, ids.app_id, patches, request.action
        )
        return service_pb2.MultiInputResponse(
            status=convert.ok_status(), inputs=[input_pb(r) for r in stored]
        )

    async def GetInputCount(
        self, request: service_pb2.GetInputCountRequest, caller: Caller
    ) -> service_pb2.SingleInputCountResponse:
        ids = request.user_app_id
        count = self._workspace.inputs.count_inputs(caller.principal, ids.user_id, ids.app_id)
        return service_pb2.SingleInputCountResponse(
            status=convert.ok_status(), counts=resources_pb2.InputCount(processed=count)
        )

    async def GetInputsAddJob(
        self, request: service_pb2.GetInputsAddJobRequest, caller: Caller
    ) -> service_pb2.SingleInputsAddJobResponse:
        ids = request.user_app_id
        job = self._workspace.inputs.input_job(
            caller.principal, ids.user_id, ids.app_id, request.id
        )
        pb = resources_pb2.InputsAddJob(id=job.job_id)
        pb.created_at.CopyFrom(convert.timestamp(job.created_at))
        pb.progress.success_count = job.succeeded
        pb.progress.failed_count = job.failed
        pb.status.code = JOB_COMPLETED
        pb.status.description = "Job completed"
        return service_pb2.SingleInputsAddJobResponse(status=convert.ok_status(), inputs_add_job=pb)

    # custom models -------------------------------------------------------------------

    async def PostModels(
        self, request: service_pb2.PostModelsRequest, caller: Caller
    ) -> service_pb2.SingleModelResponse:
        model = request.model if request.HasField("model") else None
        if model is None and request.models:
            model = request.models[0]
        if model is None:
            raise InvalidRequest("PostModels needs a model with an id.")
        new = NewModel(
            model.id, model.model_type_id, model.name, model.description,
            concepts(model.output_info.data.concepts),
        )  # fmt: skip
        ids = request.user_app_id
        created = self._workspace.models.create_model(
            caller.principal, ids.user_id, ids.app_id, new
        )
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=custom_model_pb(created)
        )

    async def PatchModels(
        self, request: service_pb2.PatchModelsRequest, caller: Caller
    ) -> service_pb2.MultiModelResponse:
        ids = request.user_app_id
        patches = [ModelPatch(m.id, concepts(m.output_info.data.concepts)) for m in request.models]
        patched = self._workspace.models.patch_models(
            caller.principal, ids.user_id, ids.app_id, patches, request.action
        )
        return service_pb2.MultiModelResponse(
            status=convert.ok_status(), models=[custom_model_pb(m) for m in patched]
        )

    async def DeleteModel(
        self, request: service_pb2.DeleteModelRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._workspace.models.delete_models(
            caller.principal, ids.user_id, ids.app_id, [request.model_id]
        )
        return done()

    async def DeleteModels(
        self, request: service_pb2.DeleteModelsRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        named = [] if request.delete_all else list(request.ids) or [m.id for m in request.models]
        self._workspace.models.delete_models(caller.principal, ids.user_id, ids.app_id, named)
        return done()

    async def PostModelVersions(
        self, request: service_pb2.PostModelVersionsRequest, caller: Caller
    ) -> service_pb2.SingleModelResponse:
        """Train a new version: ``train_info.params`` and ``output_info`` as the official SDK
        writes them (see :mod:`clarion.training_params`)."""
        if len(request.model_versions) > 1:
            raise InvalidRequest("PostModelVersions trains one version at a time.")
        version = (
            request.model_versions[0] if request.model_versions else resources_pb2.ModelVersion()
        )
        training = Training(
            params=struct_dict(version.train_info, "params"),
            inference=struct_dict(version.output_info, "params"),
            exclusive=version.output_info.output_config.concepts_mutually_exclusive,
            description=version.description or request.description,
            concept_ids=tuple(c.id for c in version.output_info.data.concepts),
        )
        ids = request.user_app_id
        trained = self._workspace.models.train(
            caller.principal, ids.user_id, ids.app_id, request.model_id, training
        )
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=custom_model_pb(trained)
        )

    async def DeleteModelVersion(
        self, request: service_pb2.DeleteModelVersionRequest, caller: Caller
    ) -> status_pb2.BaseResponse:
        ids = request.user_app_id
        self._workspace.models.delete_version(
            caller.principal, ids.user_id, ids.app_id, request.model_id, request.version_id
        )
        return done()


# wire -> domain -----------------------------------------------------------------------


def labels(concepts: Iterable[resources_pb2.Concept]) -> tuple[Concept, ...]:
    return tuple(Concept(c.id, c.name, c.value) for c in concepts)


def concepts(found: Iterable[resources_pb2.Concept]) -> tuple[Concept, ...]:
    return tuple(Concept(c.id, c.name) for c in found)


def metadata(data: resources_pb2.Data) -> dict[str, Any]:
    if not data.HasField("metadata"):
        return {}
    found: dict[str, Any] = json_format.MessageToDict(data.metadata)
    return found


def struct_dict(message: Any, field: str) -> dict[str, Any]:
    """A ``google.protobuf.Struct`` field as a dict ({} when it is not set)."""
    if not message.HasField(field):
        return {}
    found: dict[str, Any] = json_format.MessageToDict(getattr(message, field))
    return found


# domain -> wire -----------------------------------------------------------------------


def done() -> status_pb2.BaseResponse:
    """The empty success reply of the Delete* RPCs."""
    return status_pb2.BaseResponse(status=convert.ok_status())


def app_pb(app: App) -> resources_pb2.App:
    pb = resources_pb2.App(id=app.app_id, user_id=app.user_id, description=app.description)
    pb.created_at.CopyFrom(convert.timestamp(app.created_at))
    return pb


def custom_model_pb(found: CustomModel) -> resources_pb2.Model:
    pb = convert.model_pb(found.model, found.version, training=found.training)
    pb.output_info.data.concepts.extend(convert.concepts_pb(list(found.concepts)))
    return pb


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
        item.data.metadata.update(dict(record.metadata))
    return item
