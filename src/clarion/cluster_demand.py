"""The versions the front ends want on a Ray cluster, kept in the shared registry.

A front end records a version when it first needs it there (its first request, or
preloading); the elected reconciler keeps every demanded version that exists deployed, with
its current scaling settings, and deletes the application of one that was deleted. The
demand of a version lasts until the version is deleted: to take a version's replicas away
without deleting it, give it ``min_replicas`` 0 and it scales to zero when unused.

    demand = RegistryDemand(registry)
    backend = RayBackend(RUNNER_FACTORIES, settings, demand=demand,
                         election=registry.reconciler_election(instance_id))
"""

from __future__ import annotations

from collections.abc import Sequence

from clarion.registry import Registry
from clarion.runtime import Deployment


class RegistryDemand:
    """The runtime's ``Demand`` over the registry's ``version_demand`` table."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def want(self, version: Deployment) -> None:
        self._registry.want_version(version.version_id)

    def wanted(self) -> list[Deployment]:
        return [Deployment.of(m, v) for m, v in self._registry.demanded_versions()]

    def gone(self) -> list[str]:
        return self._registry.demand_gone()

    def forget(self, version_ids: Sequence[str]) -> None:
        self._registry.forget_demand(version_ids)
