"""Two Ray-backed front ends on one PostgreSQL registry and a real two-node cluster: exactly
one reconciles, and both name it; a version first used through the other is deployed by the
reconciler and answers; a scaling change applies while the version runs; deleting a version
removes its application; when the reconciler stops, the other takes the lead, deploys, and
both name it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ray import serve

from clarion.domain.scaling import ScalingSettings
from clarion.domain.values import Input, InputKind
from clarion.front_end import FrontEnd
from clarion.registry import Registry
from clarion.runtime.ray.backend import RayBackend
from tests.conftest import make_settings
from tests.integration.ray.conftest import RayCluster
from tests.integration.ray.versions import ray_backend, toy_version
from tests.postgres import postgres_url

pytestmark = pytest.mark.slow

__all__ = ["postgres_url"]  # the fixture, shared with the other tests on PostgreSQL

#: How long the cluster may take to reach a state the test waits for.
SETTLE_S = 120.0


@pytest.fixture
def registries(postgres_url: str) -> Iterator[tuple[Registry, Registry]]:
    """The registry as each of the two front ends opens it."""
    first, second = Registry.open(postgres_url), Registry.open(postgres_url)
    yield first, second
    first.close()
    second.close()


async def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SETTLE_S
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.2)


def _applications() -> set[str]:
    return set(serve.status().applications)


def _text(text: str) -> Input:
    return Input(text, InputKind.TEXT, text=text)


def test_one_front_end_reconciles_and_the_other_takes_over(
    tmp_path: Path, ray_cluster: RayCluster, registries: tuple[Registry, Registry]
) -> None:
    first_db, second_db = registries
    settings = [
        make_settings(tmp_path / name, ray_address=ray_cluster.address, load_wait_s=0.5)
        for name in ("first", "second")
    ]
    echo = toy_version(first_db, "echo")
    later = toy_version(first_db, "later")
    third = toy_version(first_db, "third")
    fronts = [FrontEnd(first_db, "1" * 32), FrontEnd(second_db, "2" * 32)]
    for front in fronts:
        front.beat()

    def leaders() -> list[tuple[str, str, bool]]:
        """The reconciler each front end names (what `clarion status` prints)."""
        named = [front.reconciler(on_cluster=True) for front in fronts]
        return [(n.instance_id, n.host, n.this_front_end) for n in named]

    async def scenario() -> None:
        first = ray_backend(settings[0], first_db, instance_id=fronts[0].instance_id)
        await _until(lambda: first.reconciler.leading, "the first front end leads")
        second = ray_backend(settings[1], second_db, instance_id=fronts[1].instance_id)
        closed: list[RayBackend] = []
        try:
            host = fronts[0].host
            assert leaders() == [("1" * 32, host, True), ("1" * 32, host, False)]
            # The follower's first use: it records the demand, the leader deploys.
            await second.load(echo)
            assert [o.text for o in await second.predict(echo, [_text("hi")])] == ["HI"]
            assert first.reconciler.leading and not second.reconciler.leading
            assert await first.predict(echo, [_text("too")]) == await second.predict(
                echo, [_text("too")]
            )

            # A scaling change reaches the running application in place.
            first_db.set_scaling(echo.version_id, ScalingSettings(min_replicas=2, max_replicas=2))
            replicas = [await second.running_replicas(echo)]
            deadline = time.monotonic() + SETTLE_S
            while replicas[-1] != 2:
                assert time.monotonic() < deadline, f"replicas over time: {replicas}"
                await asyncio.sleep(0.5)
                replicas.append(await second.running_replicas(echo))
            # The first replica is still there: it has served the calls above, a new one none.
            stats = await asyncio.gather(*(second.replica_stats(echo) for _ in range(16)))
            assert any(s.batch_sizes for s in stats), "the replicas were replaced"
            assert [o.text for o in await second.predict(echo, [_text("a")])] == ["A"]

            # Deleting the version (through the follower's registry) removes its application,
            # and then its demand.
            second_db.delete_version(echo.version_id)
            await _until(lambda: echo.version_id not in _applications(), "echo deleted")
            await _until(lambda: first_db.demand_gone() == [], "the demand forgotten")

            # The reconciler stops, deleting nothing; the other takes the lead and deploys
            # what is asked next.
            await first.load(later)
            await first.close()
            stopped = time.monotonic()
            closed.append(first)
            assert later.version_id in _applications()
            await _until(lambda: second.reconciler.leading, "the second front end leads")
            print(f"the second front end led {time.monotonic() - stopped:.1f} s after")
            assert leaders() == [("2" * 32, host, False), ("2" * 32, host, True)]
            assert [o.text for o in await second.predict(later, [_text("b")])] == ["B"]
            await second.load(third)
            assert [o.text for o in await second.predict(third, [_text("c")])] == ["C"]
        finally:
            for backend in (first, second):
                if backend not in closed:
                    await backend.close()

    asyncio.run(scenario())
