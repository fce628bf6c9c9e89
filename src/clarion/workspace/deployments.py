"""Deployments: how each model version scales on a cluster (its :class:`ScalingSettings`).

Every model version has one deployment, whose id is the version's id; it has its family's
default settings until someone sets its own. A user changes the deployments of versions in
their own apps; those of the built-in models (``clarion/main``) only the operator's
bootstrap user (``admin``) may change.

    deployed = deployments.deploy(principal, ModelRef.of("clarion", "main", "all-minilm-l6-v2"),
                                  ScalingSettings(min_replicas=1, max_replicas=4))
    deployed.id == deployed.version.id
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from clarion.auth import BOOTSTRAP_USER, PUBLIC_USER, Principal
from clarion.directory import ModelDirectory, ModelRef
from clarion.domain.models import Model, ModelVersion
from clarion.domain.scaling import ScalingSettings
from clarion.errors import ModelNotFound, PermissionDenied, ResourceNotFound
from clarion.registry import Page, Registry


@dataclass(frozen=True)
class VersionDeployment:
    model: Model
    version: ModelVersion

    @property
    def id(self) -> str:
        return self.version.id

    @property
    def settings(self) -> ScalingSettings:
        """The version's own settings, or the defaults (0 load fields: the family's)."""
        return self.version.scaling or ScalingSettings()


class DeploymentService:
    def __init__(self, registry: Registry, directory: ModelDirectory) -> None:
        self._registry = registry
        self._directory = directory

    def deploy(
        self, principal: Principal, ref: ModelRef, settings: ScalingSettings
    ) -> VersionDeployment:
        """Store the settings of the named version (the model's latest when none is named)."""
        model, version = self._directory.resolve(principal, ref)
        if not _may_change(principal, model):
            owner = f"user {BOOTSTRAP_USER}" if model.user_id == PUBLIC_USER else model.user_id
            raise PermissionDenied(
                f"The deployments of {model.user_id}/{model.app_id} can be changed only by "
                f"{owner}'s keys."
            )
        if not self._registry.set_scaling(version.id, settings):
            raise ModelNotFound(f"Model {model.path} has no version {version.id!r} any more.")
        return self.get(principal, version.id)

    def get(self, principal: Principal, deployment_id: str) -> VersionDeployment:
        found = self._registry.version_by_id(deployment_id) if deployment_id else None
        if found is None or not principal.can_read(found[0].user_id):
            raise ResourceNotFound(f"Deployment {deployment_id!r} does not exist.")
        return VersionDeployment(*found)

    def list(
        self, principal: Principal, version_ids: Sequence[str], page: Page
    ) -> list[VersionDeployment]:
        """The deployments with settings of their own that the caller can read (only those
        of ``version_ids`` when given), by id."""
        found = self._registry.scaled_versions([principal.user_id, PUBLIC_USER], version_ids)
        chosen = found[page.offset : page.offset + page.limit]
        return [VersionDeployment(model, version) for model, version in chosen]


def _may_change(principal: Principal, model: Model) -> bool:
    if model.user_id == PUBLIC_USER:
        return principal.user_id == BOOTSTRAP_USER
    return model.user_id == principal.user_id
