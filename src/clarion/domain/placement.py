"""Where each served model version runs: its replicas, their state and their node; and
which front end deploys them.

In one process every loaded version has one replica, the server itself; on a Ray cluster a
version has the replicas Ray Serve placed for it, each on a node of the cluster, and one
front end, the elected reconciler, deploys them.

    ServedVersion("all-minilm-l6-v2", "a1b2...", (Replica("RUNNING", "9c1e...", "10.0.0.7", 4242),))
    Reconciling("9f2c...", "host-a", True, "this front end (9f2c... on host-a)")
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


@dataclass(frozen=True)
class Reconciling:
    """Which front end reconciles the Ray cluster (deploys and deletes its applications)."""

    #: The leading front end's instance id and host (empty when unknown); both empty when
    #: none leads: in one process (no Ray cluster), or while an election is under way.
    instance_id: str
    host: str
    #: Whether it is the front end that says so.
    this_front_end: bool
    #: The same in words, for ``clarion status``.
    detail: str
