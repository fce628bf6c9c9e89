"""The Clarifai RPCs Clarion implements, shared by the gRPC server and the REST gateway.

Each handler turns one request message into one response message by calling the services;
:meth:`ClarifaiHandlers.call` converts any :class:`ClarionError` into the response's
``status``, as Clarifai does. RPCs missing here answer UNIMPLEMENTED in both transports.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf.message import Message

from clarion.api.clarifai import convert
from clarion.api.clarifai.rpcs import RPCS
from clarion.auth import Principal
from clarion.catalog import MODEL_TYPES
from clarion.directory import ModelDirectory, ModelRef
from clarion.errors import ClarionError, InternalError, ResourceNotFound
from clarion.registry import Page, Registry
from clarion.service import PredictService

log = logging.getLogger(__name__)

Handler = Callable[[Any, Principal], Awaitable[Message]]


class ClarifaiHandlers:
    """One async method per implemented RPC, named exactly like the RPC."""

    IMPLEMENTED = (
        "GetUser",
        "ListModels",
        "GetModel",
        "GetModelType",
        "GetModelVersion",
        "ListModelVersions",
        "GetModelOutputInfo",
        "ListModelConcepts",
        "PostModelOutputs",
    )

    def __init__(
        self, registry: Registry, directory: ModelDirectory, predictor: PredictService
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._predictor = predictor

    def handler(self, method: str) -> Handler | None:
        if method not in self.IMPLEMENTED:
            return None
        handler: Handler = getattr(self, method)
        return handler

    async def call(self, method: str, request: Message, principal: Principal) -> Message:
        """Run one RPC; errors become the response's status, never an exception."""
        handler = self.handler(method)
        assert handler is not None, f"{method} is not implemented"
        try:
            return await handler(request, principal)
        except ClarionError as exc:
            return RPCS[method].response_class(status=convert.error_status(exc))
        except Exception:
            log.exception("unexpected error in %s", method)
            error = InternalError("An unexpected error occurred; the server log has the details.")
            return RPCS[method].response_class(status=convert.error_status(error))

    # users ---------------------------------------------------------------------------

    async def GetUser(
        self, request: service_pb2.GetUserRequest, principal: Principal
    ) -> service_pb2.SingleUserResponse:
        user_id = request.user_app_id.user_id
        if user_id not in ("me", "", principal.user_id):
            raise ResourceNotFound(f"User {user_id!r} does not exist.")
        return service_pb2.SingleUserResponse(
            status=convert.ok_status(), user=resources_pb2.User(id=principal.user_id)
        )

    # models --------------------------------------------------------------------------

    async def ListModels(
        self, request: service_pb2.ListModelsRequest, principal: Principal
    ) -> service_pb2.MultiModelResponse:
        page = Page(request.page, request.per_page)
        models = self._directory.list_models(
            principal, request.user_app_id.user_id, request.user_app_id.app_id, page
        )
        if request.model_type_id:
            models = [m for m in models if m.model_type_id == request.model_type_id]
        return service_pb2.MultiModelResponse(
            status=convert.ok_status(),
            models=[convert.model_pb(m, self._registry.get_version(m)) for m in models],
        )

    async def GetModel(
        self, request: service_pb2.GetModelRequest, principal: Principal
    ) -> service_pb2.SingleModelResponse:
        model, version = self._directory.resolve(principal, convert.model_ref(request))
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=convert.model_pb(model, version)
        )

    async def GetModelOutputInfo(
        self, request: service_pb2.GetModelRequest, principal: Principal
    ) -> service_pb2.SingleModelResponse:
        model, version = self._directory.resolve(principal, convert.model_ref(request))
        concepts = list(self._directory.concepts(version))
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=convert.model_pb(model, version, concepts)
        )

    async def ListModelConcepts(
        self, request: service_pb2.ListModelConceptsRequest, principal: Principal
    ) -> service_pb2.MultiConceptResponse:
        ref = ModelRef.of(
            request.user_app_id.user_id,
            request.user_app_id.app_id,
            request.model_id,
            request.version_id,
        )
        _, version = self._directory.resolve(principal, ref)
        page = Page(request.page, request.per_page)
        concepts = self._directory.concepts(version)[page.offset : page.offset + page.limit]
        return service_pb2.MultiConceptResponse(
            status=convert.ok_status(), concepts=convert.concepts_pb(list(concepts))
        )

    async def GetModelType(
        self, request: service_pb2.GetModelTypeRequest, principal: Principal
    ) -> service_pb2.SingleModelTypeResponse:
        model_type = MODEL_TYPES.get(request.model_type_id)
        if model_type is None:
            raise ResourceNotFound(
                f"Model type {request.model_type_id!r} does not exist; known types: "
                f"{', '.join(sorted(MODEL_TYPES))}."
            )
        return service_pb2.SingleModelTypeResponse(
            status=convert.ok_status(), model_type=convert.model_type_pb(model_type)
        )

    # versions ------------------------------------------------------------------------

    async def GetModelVersion(
        self, request: service_pb2.GetModelVersionRequest, principal: Principal
    ) -> service_pb2.SingleModelVersionResponse:
        model, version = self._directory.resolve(principal, convert.model_ref(request))
        return service_pb2.SingleModelVersionResponse(
            status=convert.ok_status(), model_version=convert.version_pb(model, version)
        )

    async def ListModelVersions(
        self, request: service_pb2.ListModelVersionsRequest, principal: Principal
    ) -> service_pb2.MultiModelVersionResponse:
        ref = ModelRef.of(request.user_app_id.user_id, request.user_app_id.app_id, request.model_id)
        model = self._directory.model(principal, ref)
        versions = self._directory.list_versions(
            principal, ref, Page(request.page, request.per_page)
        )
        return service_pb2.MultiModelVersionResponse(
            status=convert.ok_status(),
            model_versions=[convert.version_pb(model, v) for v in versions],
        )

    # predictions ---------------------------------------------------------------------

    async def PostModelOutputs(
        self, request: service_pb2.PostModelOutputsRequest, principal: Principal
    ) -> service_pb2.MultiOutputResponse:
        prediction = await self._predictor.predict(
            principal,
            convert.model_ref(request),
            convert.raw_inputs(request),
            convert.inference_params(request),
            convert.output_config(request),
        )
        model_pb = convert.model_pb(prediction.model, prediction.version)
        return convert.prediction_response(prediction, model_pb)
