"""Toy model versions registered in a real registry, where the Ray backend's demand finds
them, and the Ray backend over that registry."""

from __future__ import annotations

from collections.abc import Mapping

from clarion.cluster_demand import RegistryDemand
from clarion.config import Settings
from clarion.domain.scaling import ScalingSettings
from clarion.registry import Registry
from clarion.runtime import Deployment
from clarion.runtime.ray.backend import RayBackend
from clarion.runtime.runner import RunnerFactory
from tests.integration.ray.toy import FACTORIES


def toy_version(
    registry: Registry, name: str, scaling: ScalingSettings | None = None, **spec: object
) -> Deployment:
    """A version of the toy family (its id ``name`` padded to 32 characters)."""
    model = registry.ensure_model("toys", "main", "toy", model_type_id="text-to-text")
    version = registry.ensure_version(model, name.ljust(32, "0"), runner="toy", spec=dict(spec))
    if scaling is not None:
        registry.set_scaling(version.id, scaling)
    stored = registry.get_version(model, version.id)
    assert stored is not None
    return Deployment.of(model, stored)


def ray_backend(
    settings: Settings,
    registry: Registry,
    factories: Mapping[str, RunnerFactory] = FACTORIES,
    instance_id: str = "",
) -> RayBackend:
    """A front end's Ray backend: its demand and its election (as ``instance_id``) on
    ``registry``."""
    return RayBackend(
        factories,
        settings,
        demand=RegistryDemand(registry),
        election=registry.reconciler_election(instance_id),
    )
