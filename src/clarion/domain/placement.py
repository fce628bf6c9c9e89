"""Where each served model version runs: its replicas, their state and their node.

In one process every loaded version has one replica, the server itself; on a Ray cluster a
version has the replicas Ray Serve placed for it, each on a node of the cluster.

    ServedVersion("all-minilm-l6-v2", "a1b2...", (Replica("RUNNING", "9c1e...", "10.0.0.7", 4242),))
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Replica:
    """One copy of a model version that takes requests (or is on its way to)."""

    #: ``RUNNING`` when it takes requests; Ray Serve's own states (``STARTING``,
    #: ``UPDATING``, ``RECOVERING``, ``STOPPING``) while it does not yet or any more.
    state: str
    #: The Ray node it runs on; empty in one process.
    node_id: str
    #: The address of its host (the host name in one process).
    node_address: str
    #: Its process id on that host.
    pid: int


@dataclass(frozen=True)
class ServedVersion:
    """A model version a backend serves, and its replicas (none while scaled to zero)."""

    #: Empty when the backend does not know it (a version another front end deployed).
    model_id: str
    version_id: str
    replicas: tuple[Replica, ...]
