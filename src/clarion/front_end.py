"""This server among the others on one registry: its id, its heartbeat, and which of them
reconciles the Ray cluster.

Several Clarion servers (front ends, on one host or several) may share one PostgreSQL
registry. Each has an id, made once and kept in its home (``$CLARION_HOME/instance-id``),
and records a heartbeat in the registry every :data:`HEARTBEAT_S` seconds while it serves.
A server whose last heartbeat is older than :data:`STALE_AFTER_S` counts as gone: a starting
server marks only the trainings of gone servers (and its own, left by its previous run on
the same home) as failed, never those of a live one. On a Ray cluster one of them, elected,
deploys the model versions; every front end can say which one (:meth:`FrontEnd.reconciler`).

    front_end = FrontEnd(registry, instance_id(settings.home))
    front_end.beat()
    task = asyncio.create_task(front_end.run())
    front_end.reconciler(on_cluster=True)    # Reconciling("9f2c...", "host-a", True, ...)
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from clarion.atomic import write_atomically
from clarion.domain.placement import Reconciling
from clarion.errors import ClarionError
from clarion.registry import Registry

log = logging.getLogger(__name__)

#: How often a serving front end records that it is alive.
HEARTBEAT_S = 5.0
#: A front end silent for longer than this is taken for gone (six missed heartbeats).
STALE_AFTER_S = 30.0

_ID_FILE = "instance-id"


def instance_id(home: Path) -> str:
    """The id of the server on ``home``: made at its first start, the same at every restart."""
    path = home / _ID_FILE
    if not path.is_file():
        write_atomically(path, lambda f: f.write(uuid.uuid4().hex.encode()))
    return path.read_text().strip()


class FrontEnd:
    def __init__(self, registry: Registry, instance_id: str) -> None:
        self.instance_id = instance_id
        self._registry = registry
        self.host = socket.gethostname()

    def beat(self) -> None:
        self._registry.heartbeat(self.instance_id, self.host)

    def reconciler(self, on_cluster: bool) -> Reconciling:
        """Which front end reconciles the Ray cluster (``on_cluster``: this server runs its
        models there): the one holding the registry's election lock (on SQLite, this one).
        A registry that does not answer is said, not raised."""
        if not on_cluster:
            return Reconciling("", "", False, "none: one process, no Ray cluster")
        try:
            leader = self._registry.reconciler_leader(self.instance_id)
        except ClarionError as exc:
            return Reconciling("", "", False, f"unknown: the registry did not answer ({exc})")
        if leader is None:
            return Reconciling("", "", False, "none now: a new one is being elected")
        leader_id, host = leader
        mine = leader_id == self.instance_id
        where = f"{leader_id or 'a front end without an id'} on {host or 'an unknown host'}"
        return Reconciling(leader_id, host, mine, f"this front end ({where})" if mine else where)

    @staticmethod
    def stale_before() -> datetime:
        """Heartbeats older than this are of gone front ends."""
        return datetime.now(UTC) - timedelta(seconds=STALE_AFTER_S)

    def others_alive(self) -> bool:
        """Whether another front end on the registry has a fresh heartbeat."""
        return bool(self._registry.live_front_ends(self.stale_before()) - {self.instance_id})

    async def run(self) -> None:
        """Beat every :data:`HEARTBEAT_S` seconds until cancelled; a failed beat is logged
        and retried at the next one."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await asyncio.to_thread(self.beat)
            except ClarionError as exc:
                log.warning("heartbeat not recorded: %s", exc)
