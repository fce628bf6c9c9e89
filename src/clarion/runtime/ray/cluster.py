"""Joining a Ray cluster as a driver, with Serve started and its proxies off.

Clarion's own front end answers every API, so Serve runs no HTTP or gRPC proxy: its
deployments are reached only through handles. ``address`` is a Ray address
(``HOST:PORT`` of the head's GCS, ``ray://...``) or ``auto`` (the cluster of the Ray node
on this host). Token authentication is Ray's own: ``RAY_AUTH_MODE=token`` and
``RAY_AUTH_TOKEN_PATH`` (or ``RAY_AUTH_TOKEN``) in the environment, as on every node.

    connect("auto")     # once per process; it stays joined until it exits
"""

from __future__ import annotations

import logging
import time

import ray
from ray import serve

log = logging.getLogger(__name__)

#: The Ray namespace Clarion's applications and actors live in.
NAMESPACE = "clarion"


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
