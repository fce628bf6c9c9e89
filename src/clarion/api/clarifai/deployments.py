"""The Clarifai deployment RPCs: how a model version scales (:mod:`clarion.workspace.deployments`).

A deployment's id is its model version's id; ``worker.model`` names the model (and version)
and ``autoscale_config`` carries the replica bounds and delays. The three settings Clarifai's
``AutoscaleConfig`` has no field for go in the deployment's ``metadata``, by their names:
``target_ongoing_requests``, ``max_ongoing_requests`` and ``max_queued_requests``.

PostDeployments sets the deployment of the model version each one names; PatchDeployments
replaces the settings of existing deployments named by id.
"""

from __future__ import annotations

from clarifai_grpc.grpc.api import resources_pb2, service_pb2

from clarion.api.clarifai import convert
from clarion.api.clarifai.caller import Caller
from clarion.directory import ModelRef
from clarion.domain.scaling import ScalingSettings
from clarion.errors import InvalidParameter, InvalidRequest
from clarion.registry import Page
from clarion.scaling_wire import deployment_message
from clarion.workspace import WorkspaceService
from clarion.workspace.deployments import VersionDeployment

#: The settings carried in a deployment's ``metadata`` (``AutoscaleConfig`` has no field).


class DeploymentHandlers:
    RPCS = ("PostDeployments", "PatchDeployments", "GetDeployment", "ListDeployments")

    def __init__(self, workspace: WorkspaceService) -> None:
        self._deployments = workspace.deployments

    async def PostDeployments(
        self, request: service_pb2.PostDeploymentsRequest, caller: Caller
    ) -> service_pb2.MultiDeploymentResponse:
        if not request.deployments:
            raise InvalidRequest("PostDeployments needs at least one deployment.")
        deployed = []
        for deployment in request.deployments:
            model = deployment.worker.model
            if not model.id:
                raise InvalidParameter(
                    "A deployment must name its model in worker.model.id.",
                    parameter="worker.model.id",
                )
            user_id = model.user_id or request.user_app_id.user_id
            app_id = model.app_id or request.user_app_id.app_id
            ref = ModelRef.of(user_id, app_id, model.id, model.model_version.id)
            if deployment.id and model.model_version.id and deployment.id != model.model_version.id:
                raise InvalidParameter(
                    "A deployment's id is its model version's id; leave it empty or give "
                    f"{model.model_version.id!r}, got {deployment.id!r}.",
                    parameter="id",
                )
            deployed.append(
                self._deployments.deploy(caller.principal, ref, scaling_settings(deployment))
            )
        return _multi(deployed)

    async def PatchDeployments(
        self, request: service_pb2.PatchDeploymentsRequest, caller: Caller
    ) -> service_pb2.MultiDeploymentResponse:
        if not request.deployments:
            raise InvalidRequest("PatchDeployments needs at least one deployment.")
        patched = []
        for deployment in request.deployments:
            found = self._deployments.get(caller.principal, deployment.id)
            ref = ModelRef.of(
                found.model.user_id, found.model.app_id, found.model.model_id, found.id
            )
            patched.append(
                self._deployments.deploy(caller.principal, ref, scaling_settings(deployment))
            )
        return _multi(patched)

    async def GetDeployment(
        self, request: service_pb2.GetDeploymentRequest, caller: Caller
    ) -> service_pb2.SingleDeploymentResponse:
        found = self._deployments.get(caller.principal, request.deployment_id)
        return service_pb2.SingleDeploymentResponse(
            status=convert.ok_status(), deployment=deployment_pb(found)
        )

    async def ListDeployments(
        self, request: service_pb2.ListDeploymentsRequest, caller: Caller
    ) -> service_pb2.MultiDeploymentResponse:
        found = self._deployments.list(
            caller.principal, list(request.model_version_ids), Page(request.page, request.per_page)
        )
        return _multi(found)


def _multi(deployments: list[VersionDeployment]) -> service_pb2.MultiDeploymentResponse:
    return service_pb2.MultiDeploymentResponse(
        status=convert.ok_status(), deployments=[deployment_pb(d) for d in deployments]
    )


def scaling_settings(deployment: resources_pb2.Deployment) -> ScalingSettings:
    """The settings a deployment asks for; 21202 naming the field when one is out of range."""
    config = deployment.autoscale_config
    extra = dict(deployment.metadata.items()) if deployment.HasField("metadata") else {}
    return ScalingSettings(
        min_replicas=config.min_replicas,
        max_replicas=config.max_replicas,
        target_ongoing_requests=_number(extra, "target_ongoing_requests"),
        max_ongoing_requests=int(_number(extra, "max_ongoing_requests", whole=True)),
        max_queued_requests=int(_number(extra, "max_queued_requests", whole=True)),
        scale_up_delay_seconds=config.scale_up_delay_seconds,
        scale_down_delay_seconds=config.scale_down_delay_seconds,
        scale_to_zero_delay_seconds=config.scale_to_zero_delay_seconds,
    )


def _number(values: dict[str, object], name: str, *, whole: bool = False) -> float:
    value = values.get(name, 0.0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(f"metadata.{name} must be a number, got {value!r}.", parameter=name)
    if whole and value != int(value):
        raise InvalidParameter(
            f"metadata.{name} must be a whole number, got {value!r}.", parameter=name
        )
    return float(value)


def deployment_pb(found: VersionDeployment) -> resources_pb2.Deployment:
    model = found.model
    deployment = deployment_message(
        found.settings, model.user_id, model.app_id, model.model_id, found.id
    )
    deployment.user_id = model.user_id
    deployment.description = f"{model.path}/versions/{found.id}"
    return deployment
