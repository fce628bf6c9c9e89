"""Which front end on a PostgreSQL registry is the one that reconciles the Ray cluster.

The leader holds a session-level advisory lock (:data:`RECONCILER_LOCK`) on a connection of
its own that it keeps open. PostgreSQL releases the lock when that connection ends, so a
front end that stops, dies or loses its network loses the lead, and the next front end to
try takes it (a host that vanished is found out by the TCP keepalives
:data:`SERVER_KEEPALIVES` sets on the server's end). :meth:`AdvisoryLock.lead` is called
periodically from one thread: it takes the lock when it is free and checks, while holding
it, that the connection is still alive.

    election = AdvisoryLock(engine_url)
    if election.lead():        # True while this process is the reconciler
        ...
    election.resign()          # releases the lock (closing the connection would as well)
"""

from __future__ import annotations

import contextlib
import logging

from sqlalchemy import URL, Connection, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

#: The advisory lock key of the reconciler (distinct from the schema lock in ``store``).
RECONCILER_LOCK = 0x436C6179
#: TCP keepalives of the server's end of the lock's connection: a leader whose host vanished
#: without closing it is found dead (and its lock freed) within about 11 s.
SERVER_KEEPALIVES = {
    "tcp_keepalives_idle": 5,
    "tcp_keepalives_interval": 2,
    "tcp_keepalives_count": 3,
}
#: How the ``application_name`` of the lock's connection begins; the instance id follows
#: (PostgreSQL keeps 63 bytes of it: the prefix and a 32-character id fit).
APPLICATION_PREFIX = "clarion-reconciler "
#: The session holding the lock, and its ``application_name``: a bigint advisory key is
#: ``classid`` (its high half), ``objid`` (its low half) and ``objsubid`` 1, in this database.
_HOLDER = text(
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND CAST(l.classid AS bigint) = :high AND CAST(l.objid AS bigint) = :low"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def lock_holder(connection: Connection) -> str | None:
    """The instance id of the front end holding the reconciler lock (empty for a session
    that does not name one); None while no session holds it."""
    row = connection.execute(
        _HOLDER, {"high": RECONCILER_LOCK >> 32, "low": RECONCILER_LOCK & 0xFFFFFFFF}
    ).first()
    if row is None:
        return None
    name = str(row[0] or "")
    return name.removeprefix(APPLICATION_PREFIX) if name.startswith(APPLICATION_PREFIX) else ""


class AdvisoryLock:
    """Leadership held as ``pg_try_advisory_lock(RECONCILER_LOCK)`` on a dedicated connection,
    named after the front end ``instance_id``."""

    def __init__(self, url: URL, instance_id: str = "") -> None:
        name = APPLICATION_PREFIX + instance_id
        self._engine = create_engine(
            url, poolclass=NullPool, connect_args={"application_name": name}
        )
        self._connection: Connection | None = None
        self._held = False

    def lead(self) -> bool:
        """Whether this process leads now: takes the lock if it is free; while holding it,
        checks that its connection still stands (a lost connection is a lost lock)."""
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
                for setting, value in SERVER_KEEPALIVES.items():
                    self._connection.execute(text(f"SET {setting} = {int(value)}"))
            if self._held:
                self._connection.execute(text("SELECT 1"))
                self._connection.commit()
            else:
                self._held = bool(
                    self._connection.execute(
                        text("SELECT pg_try_advisory_lock(:key)"), {"key": RECONCILER_LOCK}
                    ).scalar()
                )
                self._connection.commit()  # the lock is the session's, not the transaction's
                if self._held:
                    log.info("this front end now reconciles the Ray cluster")
        except SQLAlchemyError as exc:
            if self._held:
                log.warning("lost the reconciler lock: %s", exc)
            self._drop()
        return self._held

    def resign(self) -> None:
        """Give the lead up (if held) and close the connection."""
        if self._connection is not None and self._held:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": RECONCILER_LOCK}
                )
                self._connection.commit()
            except SQLAlchemyError as exc:
                log.warning("could not release the reconciler lock: %s", exc)
        self._drop()
        self._engine.dispose()

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()
        self._connection = None
        self._held = False
