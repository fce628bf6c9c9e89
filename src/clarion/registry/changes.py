"""The registry's change count, and a front end's watch on it.

A front end caches what every request looks up: key records, which model and version a name
means. Without more to go on, an entry must be read again once it is ``CLARION_CACHE_S`` old,
so that a change made elsewhere (a key revoked from the CLI or through another front end, a
version trained elsewhere) is seen within that time; a client that asks once every few
seconds then paid those reads (2-4 ms here) on every request.

Instead, every transaction that writes one of :data:`WATCHED_TABLES` also raises the one
count in ``registry_changes`` (:func:`count_changes`, in the same transaction, so the count
and the change commit together). A :class:`ChangeWatch` reads the count every half cache
time, off the request path; a cached entry read while the count was N holds for as long as
the count is still N. The bound is kept: a change is seen once a read of the count that began
after it returns, and a count read more than the cache time ago is not trusted (the caches
then fall back to their time limit).

    count_changes(sessions)                   # every session the registry makes
    watch = ChangeWatch(registry.change_count, cache_s)
    asyncio.create_task(watch.run())          # the server polls it
    watch.count()                             # N, or None when not known to hold
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from clarion.registry.schema import ChangeCountRow

log = logging.getLogger(__name__)

#: The tables whose rows front ends cache.
WATCHED_TABLES = frozenset(
    {
        "users",
        "apps",
        "models",
        "model_versions",
        "version_training",
        "version_scaling",
        "api_keys",
    }
)

_CHANGED = "clarion_changed_watched_rows"
_ROW_ID = 1


def count_changes(sessions: sessionmaker[Session]) -> None:
    """Make every session of ``sessions`` raise the count when it commits a change to a
    watched table, whether by the unit of work or by an UPDATE, INSERT or DELETE."""
    event.listen(sessions, "after_flush", _note_flushed)
    event.listen(sessions, "do_orm_execute", _note_statement)
    event.listen(sessions, "before_commit", _raise_count)


def ensure_counter(connection: Connection) -> None:
    """The count's row, created at 0 where it is missing (a new or an older registry); two
    servers starting at once create it once."""
    upsert: Any
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    connection.execute(upsert(ChangeCountRow).values(id=_ROW_ID, count=0).on_conflict_do_nothing())


def read_count(connection: Connection) -> int:
    found = connection.execute(select(ChangeCountRow.count).where(ChangeCountRow.id == _ROW_ID))
    return int(found.scalar_one())


def _note_flushed(session: Session, _context: Any) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        if getattr(row, "__tablename__", "") in WATCHED_TABLES:
            session.info[_CHANGED] = True
            return


def _note_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", "") in WATCHED_TABLES:
            state.session.info[_CHANGED] = True


def _raise_count(session: Session) -> None:
    session.flush()  # what is still pending is part of this commit: note it first
    if session.info.pop(_CHANGED, False):
        session.execute(
            update(ChangeCountRow)
            .where(ChangeCountRow.id == _ROW_ID)
            .values(count=ChangeCountRow.count + 1)
        )


class ChangeWatch:
    """The registry's change count as last read, trusted for ``trust_s`` from when that
    read began; :meth:`run` reads it every ``trust_s / 2``."""

    def __init__(self, read: Callable[[], int], trust_s: float) -> None:
        self._read = read
        self._trust_s = trust_s
        self._last: tuple[int, float] | None = None  # (count, when its read began)

    def count(self) -> int | None:
        """The count, or None when it is not known to hold now."""
        last = self._last
        if last is None or time.monotonic() - last[1] >= self._trust_s:
            return None
        return last[0]

    def poll(self) -> None:
        """Read the count once; when the read fails, the last one ages out."""
        began = time.monotonic()
        try:
            self._last = (self._read(), began)
        except Exception as exc:  # the registry is down: the caches fall back to their time
            log.debug("reading the registry's change count failed: %s", exc)

    async def run(self) -> None:
        """Poll until cancelled, each read in a thread."""
        if self._trust_s <= 0:
            return
        while True:
            await asyncio.to_thread(self.poll)
            await asyncio.sleep(self._trust_s / 2)
