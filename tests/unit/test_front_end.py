"""A server's id is kept in its home; its heartbeat tells the other servers it is alive."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from clarion import front_end
from clarion.config import Settings
from clarion.front_end import FrontEnd, instance_id
from clarion.registry import Registry


def test_the_id_is_made_once_per_home(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    first = instance_id(settings.home)
    assert instance_id(settings.home) == first and len(first) == 32
    assert (settings.home / "instance-id").stat().st_mode & 0o777 == 0o600


def test_a_front_end_sees_the_others_that_beat_but_not_itself(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    me, other = FrontEnd(registry, "me"), FrontEnd(registry, "other")
    me.beat()
    assert not me.others_alive()
    other.beat()
    assert me.others_alive() and other.others_alive()
    registry.close()


def test_a_serving_front_end_beats_until_cancelled(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = Registry.open(settings.resolved_database_url)
    monkeypatch.setattr(front_end, "HEARTBEAT_S", 0.01)
    serving = FrontEnd(registry, "serving")

    async def serve_a_while() -> None:
        task = asyncio.create_task(serving.run())
        await asyncio.sleep(0.2)
        task.cancel()

    before = datetime.now(UTC)
    asyncio.run(serve_a_while())
    assert registry.live_front_ends(before) == {"serving"}
    registry.close()


def test_one_process_has_no_reconciler_and_on_sqlite_the_one_server_leads(
    settings: Settings,
) -> None:
    registry = Registry.open(settings.resolved_database_url)
    server = FrontEnd(registry, "me")
    server.beat()
    alone = server.reconciler(on_cluster=False)
    assert (alone.instance_id, alone.this_front_end) == ("", False)
    assert alone.detail == "none: one process, no Ray cluster"
    leads = server.reconciler(on_cluster=True)
    assert (leads.instance_id, leads.host, leads.this_front_end) == ("me", server.host, True)
    assert leads.detail == f"this front end (me on {server.host})"
    registry.close()
