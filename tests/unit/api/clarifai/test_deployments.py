"""Deployments over the Clarifai API: a model version's scaling settings, set and read."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2
from google.protobuf import struct_pb2

from clarion.auth import BOOTSTRAP_USER, PUBLIC_USER, Principal
from clarion.catalog import PUBLIC_APP
from clarion.core import Core
from clarion.domain.models import ModelVersion
from clarion.domain.scaling import ScalingSettings

ADMIN = Principal(BOOTSTRAP_USER, "k-admin")
ALICE = Principal("alice", "k-alice")
BUILTIN = "all-minilm-l6-v2"


def _call(core: Core, method: str, request: Any, principal: Principal) -> Any:
    return asyncio.run(core.handlers.call(method, request, principal))


def _deployment(
    model_id: str = BUILTIN, version_id: str = "", metadata: dict[str, Any] | None = None,
    **config: int,
) -> resources_pb2.Deployment:  # fmt: skip
    extra = struct_pb2.Struct()
    extra.update(metadata or {})
    return resources_pb2.Deployment(
        autoscale_config=resources_pb2.AutoscaleConfig(**config),
        worker=resources_pb2.Worker(
            model=resources_pb2.Model(
                id=model_id, user_id=PUBLIC_USER, app_id=PUBLIC_APP,
                model_version=resources_pb2.ModelVersion(id=version_id),
            )
        ),
        metadata=extra,
    )  # fmt: skip


def _latest(core: Core, version_id: str = "") -> ModelVersion:
    model = core.registry.get_model(PUBLIC_USER, PUBLIC_APP, BUILTIN)
    assert model is not None
    version = core.registry.get_version(model, version_id)
    assert version is not None
    return version


def _post(core: Core, principal: Principal, deployment: resources_pb2.Deployment) -> Any:
    request = service_pb2.PostDeploymentsRequest(deployments=[deployment])
    return _call(core, "PostDeployments", request, principal)


def test_the_operator_deploys_a_built_in_version_and_everyone_reads_it(core: Core) -> None:
    latest = _latest(core)
    wanted = _deployment(
        metadata={"target_ongoing_requests": 4, "max_ongoing_requests": 32,
                  "max_queued_requests": 200},
        min_replicas=0, max_replicas=3, scale_down_delay_seconds=30,
        scale_to_zero_delay_seconds=600,
    )  # fmt: skip
    posted = _post(core, ADMIN, wanted)
    assert posted.status.code == status_code_pb2.SUCCESS, posted.status
    deployment = posted.deployments[0]
    assert deployment.id == latest.id == deployment.worker.model.model_version.id
    assert deployment.autoscale_config.max_replicas == 3
    assert deployment.metadata["max_queued_requests"] == 200
    builtin = core.registry.get_model(PUBLIC_USER, PUBLIC_APP, BUILTIN)
    assert builtin is not None
    stored = core.registry.get_version(builtin, latest.id)
    assert stored is not None and stored.scaling == ScalingSettings(
        min_replicas=0, max_replicas=3, target_ongoing_requests=4.0, max_ongoing_requests=32,
        max_queued_requests=200, scale_down_delay_seconds=30.0, scale_to_zero_delay_seconds=600.0,
    )  # fmt: skip

    got = _call(
        core, "GetDeployment", service_pb2.GetDeploymentRequest(deployment_id=latest.id), ALICE
    )
    assert got.status.code == status_code_pb2.SUCCESS and got.deployment == deployment
    listed = _call(
        core, "ListDeployments",
        service_pb2.ListDeploymentsRequest(model_version_ids=[latest.id]), ALICE,
    )  # fmt: skip
    assert [d.id for d in listed.deployments] == [latest.id]

    patch = resources_pb2.Deployment(
        id=latest.id, autoscale_config=resources_pb2.AutoscaleConfig(min_replicas=1, max_replicas=1)
    )
    patched = _call(
        core, "PatchDeployments", service_pb2.PatchDeploymentsRequest(deployments=[patch]), ADMIN
    )
    assert patched.status.code == status_code_pb2.SUCCESS
    assert patched.deployments[0].autoscale_config.max_replicas == 1


def test_only_the_operator_changes_a_built_in_deployment(core: Core) -> None:
    refused = _post(core, ALICE, _deployment(min_replicas=1, max_replicas=2))
    assert refused.status.code == status_code_pb2.CONN_INSUFFICIENT_SCOPES
    assert "admin" in refused.status.details


@pytest.mark.parametrize(
    ("deployment", "field"),
    [
        (_deployment(min_replicas=1, max_replicas=0), "max_replicas"),
        (_deployment(min_replicas=5, max_replicas=2), "min_replicas"),
        (_deployment(max_replicas=1, scale_down_delay_seconds=100_000), "scale_down_delay_seconds"),
        (
            _deployment(max_replicas=1, metadata={"max_ongoing_requests": 2.5}),
            "max_ongoing_requests",
        ),
        (
            _deployment(max_replicas=1, metadata={"max_queued_requests": "many"}),
            "max_queued_requests",
        ),
        (_deployment(model_id="", max_replicas=1), "worker.model.id"),
    ],
)
def test_a_bad_value_answers_21202_naming_its_field(
    core: Core, deployment: resources_pb2.Deployment, field: str
) -> None:
    answer = _post(core, ADMIN, deployment)
    assert answer.status.code == status_code_pb2.MODEL_INVALID_ARGUMENT == 21202
    assert field in answer.status.details


def test_unknown_or_unreadable_deployments_do_not_exist(core: Core) -> None:
    for deployment_id in ("f" * 32, ""):
        got = _call(
            core, "GetDeployment",
            service_pb2.GetDeploymentRequest(deployment_id=deployment_id), ALICE,
        )  # fmt: skip
        assert got.status.code == status_code_pb2.CONN_DOES_NOT_EXIST
    mine = core.registry.ensure_model("bob", "app", "m", model_type_id="embedding-classifier")
    core.registry.ensure_version(mine, "b" * 32, runner="r", spec={})
    hidden = _call(
        core, "GetDeployment", service_pb2.GetDeploymentRequest(deployment_id="b" * 32), ALICE
    )
    assert hidden.status.code == status_code_pb2.CONN_DOES_NOT_EXIST
    missing = _post(core, ADMIN, _deployment(version_id="e" * 32, max_replicas=1))
    assert missing.status.code == status_code_pb2.MODEL_DOES_NOT_EXIST
