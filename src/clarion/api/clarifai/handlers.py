"""The Clarifai RPCs Clarion implements, shared by the gRPC server and the REST gateway.

Each handler turns one request message into one response message by calling the services;
:meth:`ClarifaiHandlers.call` converts any :class:`ClarionError` into the response's
``status``, as Clarifai does. RPCs missing here raise :class:`NotImplementedFeature` from
:meth:`ClarifaiHandlers.implementation` (501 over REST, UNIMPLEMENTED over gRPC).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf.message import Message

from clarion.api.clarifai import convert
from clarion.api.clarifai.caller import Caller
from clarion.api.clarifai.datasets import DatasetHandlers
from clarion.api.clarifai.deployments import DeploymentHandlers
from clarion.api.clarifai.workspace import WorkspaceHandlers
from clarion.auth import Principal
from clarion.catalog import MODEL_TYPES
from clarion.directory import ModelDirectory, ModelRef
from clarion.domain.models import ModelVersion
from clarion.errors import (
    ClarionError,
    InputError,
    InternalError,
    NotImplementedFeature,
    ResourceNotFound,
)
from clarion.metrics import Metrics
from clarion.registry import Page, Registry
from clarion.rpcs import RPCS
from clarion.service import PredictService

log = logging.getLogger(__name__)


Handler = Callable[[Any, Caller], Awaitable[Message]]


class ClarifaiHandlers:
    """One async method per implemented RPC, named exactly like the RPC."""

    IMPLEMENTED = (
        "GetUser",
        "ListModels",
        "GetModel",
        "GetModelType",
        "ListModelTypes",
        "GetModelVersion",
        "ListModelVersions",
        "GetModelOutputInfo",
        "ListModelConcepts",
        "PostModelOutputs",
        "GenerateModelOutputs",
    )

    def __init__(
        self,
        registry: Registry,
        directory: ModelDirectory,
        predictor: PredictService,
        metrics: Metrics,
        workspace: WorkspaceHandlers | None = None,
        datasets: DatasetHandlers | None = None,
        deployments: DeploymentHandlers | None = None,
    ) -> None:
        self._registry = registry
        self._directory = directory
        self._predictor = predictor
        self._metrics = metrics
        self._workspace = workspace
        self._datasets = datasets
        self._deployments = deployments

    def implementation(self, method: str) -> Handler:
        """The handler of ``method``, or :class:`NotImplementedFeature` when Clarion has
        none; RPCs that stream their requests in have none (no transport here reads one).

        Both transports ask this before they call, and answer the error in their own way.
        """
        owners = (
            (self, self.IMPLEMENTED),
            (self._workspace, WorkspaceHandlers.RPCS),
            (self._datasets, DatasetHandlers.RPCS),
            (self._deployments, DeploymentHandlers.RPCS),
        )
        if not RPCS[method].client_streaming:
            for owner, methods in owners:
                if owner is not None and method in methods:
                    handler: Handler = getattr(owner, method)
                    return handler
        raise NotImplementedFeature(f"{method} is not implemented by Clarion.")

    async def call(
        self, method: str, request: Message, principal: Principal, timeout_s: float | None = None
    ) -> Message:
        """Run one RPC; errors become the response's status, never an exception (an RPC
        without a handler raises, see :meth:`implementation`).

        ``timeout_s`` is how long the caller will wait for the answer (its deadline).
        Every call is counted and timed in the metrics, by model and status code.
        """
        handler = self.implementation(method)
        started = time.perf_counter()
        try:
            response = await handler(request, Caller(principal, timeout_s))
        except ClarionError as exc:
            response = RPCS[method].response_class(status=convert.error_status(exc))
        except Exception:
            log.exception("unexpected error in %s", method)
            error = InternalError("An unexpected error occurred; the server log has the details.")
            response = RPCS[method].response_class(status=convert.error_status(error))
        self._observe(method, request, response, time.perf_counter() - started)
        return response

    async def stream(
        self, method: str, request: Message, principal: Principal
    ) -> AsyncGenerator[Message, None]:
        """Run one server-streaming RPC; an error ends the stream with a status response."""
        started = time.perf_counter()
        last: Message | None = None
        produce = getattr(self, f"{method}Stream")
        try:
            async with aclosing(produce(request, Caller(principal))) as responses:
                async for response in responses:
                    last = response
                    yield response
        except ClarionError as exc:
            last = RPCS[method].response_class(status=convert.error_status(exc))
            yield last
        if last is not None:
            self._observe(method, request, last, time.perf_counter() - started)

    def _observe(self, method: str, request: Any, response: Any, seconds: float) -> None:
        model, version = getattr(request, "model_id", ""), getattr(request, "version_id", "")
        outputs = getattr(response, "outputs", None)
        if outputs:
            model, version = outputs[0].model.id, outputs[0].model.model_version.id
        code = str(response.status.code)
        self._metrics.requests.labels(method, model, version, code).inc()
        self._metrics.latency.labels(method, model).observe(seconds)

    # users ---------------------------------------------------------------------------

    async def GetUser(
        self, request: service_pb2.GetUserRequest, caller: Caller
    ) -> service_pb2.SingleUserResponse:
        user_id = request.user_app_id.user_id
        if user_id not in ("me", "", caller.principal.user_id):
            raise ResourceNotFound(f"User {user_id!r} does not exist.")
        return service_pb2.SingleUserResponse(
            status=convert.ok_status(), user=resources_pb2.User(id=caller.principal.user_id)
        )

    # models --------------------------------------------------------------------------

    async def ListModels(
        self, request: service_pb2.ListModelsRequest, caller: Caller
    ) -> service_pb2.MultiModelResponse:
        page = Page(request.page, request.per_page)
        models = self._directory.list_models(
            caller.principal, request.user_app_id.user_id, request.user_app_id.app_id, page
        )
        if request.model_type_id:
            models = [m for m in models if m.model_type_id == request.model_type_id]
        return service_pb2.MultiModelResponse(
            status=convert.ok_status(),
            models=[convert.model_pb(m, self._registry.get_version(m)) for m in models],
        )

    async def GetModel(
        self, request: service_pb2.GetModelRequest, caller: Caller
    ) -> service_pb2.SingleModelResponse:
        """The model with the named version, or with its newest one whatever its training
        state (as Clarifai answers; the SDK's ``training_status`` reads it), or with none."""
        ref = convert.model_ref(request)
        version: ModelVersion | None
        if ref.version_id:
            model, version = self._directory.resolve(caller.principal, ref)
        else:
            model = self._directory.model(caller.principal, ref)
            version = self._registry.get_version(model, usable=False)
        training = self._directory.training(version) if version is not None else None
        concepts = list(self._directory.concepts(version)) if version is not None else None
        pb = convert.model_pb(model, version, training=training)
        if concepts:
            pb.model_version.output_info.data.concepts.extend(convert.concepts_pb(concepts))
        return service_pb2.SingleModelResponse(status=convert.ok_status(), model=pb)

    async def GetModelOutputInfo(
        self, request: service_pb2.GetModelRequest, caller: Caller
    ) -> service_pb2.SingleModelResponse:
        model, version = self._directory.resolve(caller.principal, convert.model_ref(request))
        concepts = list(self._directory.concepts(version))
        return service_pb2.SingleModelResponse(
            status=convert.ok_status(), model=convert.model_pb(model, version, concepts)
        )

    async def ListModelConcepts(
        self, request: service_pb2.ListModelConceptsRequest, caller: Caller
    ) -> service_pb2.MultiConceptResponse:
        ref = ModelRef.of(
            request.user_app_id.user_id,
            request.user_app_id.app_id,
            request.model_id,
            request.version_id,
        )
        _, version = self._directory.resolve(caller.principal, ref)
        page = Page(request.page, request.per_page)
        concepts = self._directory.concepts(version)[page.offset : page.offset + page.limit]
        return service_pb2.MultiConceptResponse(
            status=convert.ok_status(), concepts=convert.concepts_pb(list(concepts))
        )

    async def GetModelType(
        self, request: service_pb2.GetModelTypeRequest, caller: Caller
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

    async def ListModelTypes(
        self, request: service_pb2.ListModelTypesRequest, caller: Caller
    ) -> service_pb2.MultiModelTypeResponse:
        """Every model type; the trainable one lists its parameters (``model_type_fields``)."""
        page = Page(request.page, request.per_page)
        types = sorted(MODEL_TYPES.values(), key=lambda t: t.id)[page.offset :][: page.limit]
        return service_pb2.MultiModelTypeResponse(
            status=convert.ok_status(), model_types=[convert.model_type_pb(t) for t in types]
        )

    # versions ------------------------------------------------------------------------

    async def GetModelVersion(
        self, request: service_pb2.GetModelVersionRequest, caller: Caller
    ) -> service_pb2.SingleModelVersionResponse:
        model, version = self._directory.resolve(caller.principal, convert.model_ref(request))
        training = self._directory.training(version)
        return service_pb2.SingleModelVersionResponse(
            status=convert.ok_status(),
            model_version=convert.version_pb(model, version, training=training),
        )

    async def ListModelVersions(
        self, request: service_pb2.ListModelVersionsRequest, caller: Caller
    ) -> service_pb2.MultiModelVersionResponse:
        ref = ModelRef.of(request.user_app_id.user_id, request.user_app_id.app_id, request.model_id)
        model = self._directory.model(caller.principal, ref)
        versions = self._directory.list_versions(
            caller.principal, ref, Page(request.page, request.per_page)
        )
        return service_pb2.MultiModelVersionResponse(
            status=convert.ok_status(),
            model_versions=[
                convert.version_pb(model, v, training=self._directory.training(v)) for v in versions
            ],
        )

    # predictions ---------------------------------------------------------------------

    async def GenerateModelOutputsStream(
        self, request: service_pb2.PostModelOutputsRequest, caller: Caller
    ) -> AsyncGenerator[service_pb2.MultiOutputResponse, None]:
        inputs = convert.raw_inputs(request)
        events = self._predictor.generate(
            caller.principal,
            convert.model_ref(request),
            inputs,
            convert.generation_params(request),
        )
        async with aclosing(events):
            async for event in events:
                error = event.output.error
                if error is not None and len(inputs) == 1 and not isinstance(error, InputError):
                    raise error  # the one input could not run at all: say so at the top
                yield convert.stream_response(event)

    async def GenerateModelOutputs(
        self, request: service_pb2.PostModelOutputsRequest, caller: Caller
    ) -> service_pb2.MultiOutputResponse:
        raise NotImplementedFeature("GenerateModelOutputs streams; call it as a stream.")

    async def PostModelOutputs(
        self, request: service_pb2.PostModelOutputsRequest, caller: Caller
    ) -> service_pb2.MultiOutputResponse:
        prediction = await self._predictor.predict(
            caller.principal,
            convert.model_ref(request),
            convert.raw_inputs(request),
            convert.generation_params(request),
            convert.output_config(request),
            caller.timeout_s,
        )
        model_pb = convert.model_pb(prediction.model, prediction.version)
        return convert.prediction_response(prediction, model_pb)
