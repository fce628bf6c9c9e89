"""The election of the front end that reconciles a Ray cluster, on a real PostgreSQL: one
advisory lock, exactly one holder, taken over when the holder resigns or its connection
dies; every front end finds the holder by the name of its lock's connection."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from clarion.front_end import FrontEnd
from clarion.registry import Registry
from clarion.registry.election import RECONCILER_LOCK, SERVER_KEEPALIVES, AdvisoryLock
from tests.postgres import postgres_url

__all__ = ["postgres_url"]  # the fixture, shared with the other tests on PostgreSQL


@pytest.fixture
def registry(postgres_url: str) -> Iterator[Registry]:
    registry = Registry.open(postgres_url)
    yield registry
    registry.close()


def _lock_holders(url: str) -> list[int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            query = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = :key"
            return list(connection.execute(text(query), {"key": RECONCILER_LOCK}).scalars())
    finally:
        engine.dispose()


def test_one_front_end_leads_and_another_takes_over_when_it_resigns(
    registry: Registry, postgres_url: str
) -> None:
    first, second = registry.reconciler_election(), registry.reconciler_election()
    assert isinstance(first, AdvisoryLock) and isinstance(second, AdvisoryLock)
    try:
        assert first.lead() and not second.lead()
        assert first.lead() and not second.lead()  # held, and checked, at every try
        assert len(_lock_holders(postgres_url)) == 1
        first.resign()
        assert second.lead() and not first.lead()
    finally:
        first.resign()
        second.resign()
    assert _lock_holders(postgres_url) == []


def test_a_leader_whose_connection_dies_loses_the_lead_to_the_next(
    registry: Registry, postgres_url: str
) -> None:
    first, second = registry.reconciler_election(), registry.reconciler_election()
    assert first is not None and second is not None
    try:
        assert first.lead()
        (holder,) = _lock_holders(postgres_url)
        engine = create_engine(postgres_url)
        with engine.connect() as connection:  # what a crashed host or a cut network does
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
        engine.dispose()
        assert second.lead()
        assert not first.lead()  # it notices, and the lock is the other's
    finally:
        first.resign()
        second.resign()


def test_the_server_finds_a_vanished_leader_by_its_keepalives(registry: Registry) -> None:
    election = registry.reconciler_election()
    assert isinstance(election, AdvisoryLock)
    try:
        assert election.lead()
        connection = election._connection  # the lock's own session, where they are set
        assert connection is not None
        shown = {
            name: connection.execute(text(f"SHOW {name}")).scalar() for name in SERVER_KEEPALIVES
        }
        assert shown == {name: str(value) for name, value in SERVER_KEEPALIVES.items()}
    finally:
        election.resign()


def test_every_front_end_names_the_leader_and_the_next_one_after_it_resigns(
    registry: Registry, postgres_url: str
) -> None:
    other_db = Registry.open(postgres_url)  # the second front end's own
    first, second = FrontEnd(registry, "a" * 32), FrontEnd(other_db, "b" * 32)
    first.beat()
    second.beat()
    first_lock = registry.reconciler_election(first.instance_id)
    second_lock = other_db.reconciler_election(second.instance_id)
    assert first_lock is not None and second_lock is not None
    try:
        assert first.reconciler(on_cluster=True).detail == "none now: a new one is being elected"
        assert first_lock.lead() and not second_lock.lead()
        mine, theirs = first.reconciler(on_cluster=True), second.reconciler(on_cluster=True)
        assert (mine.instance_id, mine.host) == (theirs.instance_id, theirs.host)
        assert (mine.instance_id, mine.host) == (first.instance_id, first.host)
        assert mine.this_front_end and not theirs.this_front_end
        assert mine.detail == f"this front end ({'a' * 32} on {first.host})"
        assert theirs.detail == f"{'a' * 32} on {first.host}"

        first_lock.resign()  # the leader stops
        assert second_lock.lead()
        mine, theirs = second.reconciler(on_cluster=True), first.reconciler(on_cluster=True)
        assert mine.this_front_end and mine.instance_id == second.instance_id
        assert theirs.instance_id == second.instance_id and not theirs.this_front_end
    finally:
        first_lock.resign()
        second_lock.resign()
        other_db.close()
