"""What one reconcile pass does: a pure function from the registry's demand and the
cluster's applications to the deploys and deletes that make them match (no Ray import).

- a wanted version whose application is missing is deployed;
- one whose options (:func:`fingerprint`: its deployment options, scaling included) differ
  from what this reconciler last applied is deployed again: Serve updates it in place (the
  code version stays, so replicas are kept when only replica counts or autoscaling change).
  A reconciler that just took over applied nothing yet, so it runs each wanted version once,
  which changes nothing on the cluster when its options are the same;
- a version that failed to deploy is not tried again with the same options (requests see
  its failure) until its options change or another reconciler takes over;
- one whose deploy failed before Serve made its application (``held``: see
  :class:`~clarion.runtime.ray.failures.DeployFailures`) waits for its retry to be due;
- a wanted version that no longer exists in the registry has its application deleted; once
  it is gone from the cluster, its demand is forgotten;
- a version whose deploy is still under way is left alone, and at most ``slots`` deploys
  start per pass. Applications the demand does not name are never touched.

    actions = plan(wanted, gone, cluster, applied, deploying, settings, slots=2, held=set())
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass

from clarion.config import Settings
from clarion.runtime.backend import Deployment
from clarion.runtime.ray.options import deployment_options


def app_name(version: Deployment) -> str:
    """The Serve application of a version: named after its id."""
    return version.version_id


def fingerprint(version: Deployment, settings: Settings) -> str:
    """The options a version is deployed with, as one comparable string."""
    return json.dumps(deployment_options(version, settings), sort_keys=True)


@dataclass(frozen=True)
class Plan:
    #: Versions to run (``serve.run``) with their current options.
    deploy: tuple[Deployment, ...] = ()
    #: Applications to delete.
    delete: tuple[str, ...] = ()
    #: Demanded version ids to forget (their version and their application are gone).
    forget: tuple[str, ...] = ()


def plan(
    wanted: Sequence[Deployment],
    gone: Sequence[str],
    cluster: Set[str],
    applied: Mapping[str, str],
    deploying: Set[str],
    settings: Settings,
    *,
    slots: int,
    held: Set[str] = frozenset(),
) -> Plan:
    """The actions of one pass.

    ``wanted``: the demanded versions that exist (in the order to deploy them); ``gone``:
    demanded version ids whose version was deleted; ``cluster``: the names of the applications
    on the cluster; ``applied``: application name -> the fingerprint this reconciler last ran it
    with; ``deploying``: applications whose deploy is under way; ``slots``: how many
    deploys may start now; ``held``: applications whose failed deploy is not to be tried
    again yet."""
    deploy = []
    for version in wanted:
        name = app_name(version)
        if name in deploying or name in held:
            continue
        if name not in cluster or applied.get(name) != fingerprint(version, settings):
            deploy.append(version)
    settled = [name for name in gone if name not in deploying]
    return Plan(
        deploy=tuple(deploy[: max(0, slots)]),
        delete=tuple(name for name in settled if name in cluster),
        forget=tuple(name for name in settled if name not in cluster),
    )
