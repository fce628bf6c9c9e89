"""Joining a Ray cluster as a driver, with Serve started and its proxies off.

Clarion's own front end answers every API, so Serve runs no HTTP or gRPC proxy: its
deployments are reached only through handles. ``address`` is a Ray address
(``HOST:PORT`` of the head's GCS, ``ray://...``) or ``auto`` (the cluster of the Ray node
on this host). Token authentication is Ray's own: ``RAY_AUTH_MODE=token`` and
``RAY_AUTH_TOKEN_PATH`` (or ``RAY_AUTH_TOKEN``) in the environment, as on every node.

    connect("auto")     # once per process; it stays joined until it exits
    replicas()          # {application name: its replicas and their nodes}
    running("a1b2...")  # how many replicas of that application run now
"""

from __future__ import annotations

import logging
import time
from typing import Any

import ray
from ray import serve
from ray.serve.context import _get_global_client

from clarion.domain.placement import Replica

log = logging.getLogger(__name__)

#: The Ray namespace Clarion's applications and actors live in.
NAMESPACE = "clarion"
#: Serve's status of an application that runs, and of one whose deploy failed (also the
#: state of a replica that runs).
RUNNING = "RUNNING"
DEPLOY_FAILED = "DEPLOY_FAILED"
#: How often a wait for an application to run looks up Serve's status.
POLL_S = 0.25


def connect(address: str) -> None:
    """Join the cluster at ``address`` (once per process) and make sure Serve runs there."""
    if not ray.is_initialized():
        started = time.monotonic()
        ray.init(
            address=address,
            namespace=NAMESPACE,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        log.info("joined the Ray cluster at %s in %.1f s", address, time.monotonic() - started)
    serve.start(proxy_location="Disabled")


def replicas() -> dict[str, tuple[Replica, ...]]:
    """Every Serve application on the cluster and the replicas of its deployments.

    Read from the Serve controller's instance details (what the Ray dashboard's Serve page
    shows), which name each replica's node; :func:`ray.serve.status` only counts them.
    """
    client = _get_global_client(raise_if_no_controller_running=False)
    if client is None:  # Serve is not running: nothing is deployed
        return {}
    details: dict[str, Any] = client.get_serve_details()
    found: dict[str, tuple[Replica, ...]] = {}
    for name, app in (details.get("applications") or {}).items():
        found[name] = tuple(
            Replica(
                state=_name(replica.get("state", "")),
                node_id=str(replica.get("node_id") or ""),
                node_address=str(replica.get("node_ip") or ""),
                pid=int(replica.get("pid") or 0),
            )
            for deployment in (app.get("deployments") or {}).values()
            for replica in deployment.get("replicas") or ()
        )
    return found


def running(app: str) -> int:
    """How many replicas of the application ``app`` run now (0 when it is not deployed, or
    scaled to zero)."""
    status = serve.status().applications.get(app)
    if status is None:
        return 0
    return sum(
        count
        for deployment in status.deployments.values()
        for state, count in deployment.replica_states.items()
        if state == RUNNING
    )


def _name(state: Any) -> str:
    """A replica state's name: the details hold Serve's ``ReplicaState`` enum members."""
    return str(getattr(state, "value", state))
