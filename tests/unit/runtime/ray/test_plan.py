"""One reconcile pass's decision, from the demand and the cluster's applications (no Ray)."""

from __future__ import annotations

from pathlib import Path

from clarion.config import Settings
from clarion.domain.scaling import ScalingSettings
from clarion.runtime import Deployment
from clarion.runtime.ray.plan import Plan, fingerprint, plan

SETTINGS = Settings.from_env({"CLARION_HOME": str(Path("/nonexistent"))})


def _version(name: str, scaling: ScalingSettings | None = None) -> Deployment:
    return Deployment("m", name, "text-embedding-onnx", {}, scaling)


def _applied(*versions: Deployment) -> dict[str, str]:
    return {v.version_id: fingerprint(v, SETTINGS) for v in versions}


def _plan(
    wanted: list[Deployment],
    cluster: set[str],
    applied: dict[str, str],
    *,
    gone: tuple[str, ...] = (),
    deploying: frozenset[str] = frozenset(),
    slots: int = 4,
) -> Plan:
    return plan(wanted, gone, cluster, applied, deploying, SETTINGS, slots=slots)


def test_a_wanted_version_missing_from_the_cluster_is_deployed() -> None:
    a, b = _version("a"), _version("b")
    assert _plan([a, b], {"b"}, _applied(b)) == Plan(deploy=(a,))


def test_nothing_is_done_when_the_cluster_matches() -> None:
    a = _version("a")
    assert _plan([a], {"a"}, _applied(a)) == Plan()


def test_changed_scaling_redeploys_with_the_new_options() -> None:
    before = _version("a")
    after = _version("a", ScalingSettings(min_replicas=1, max_replicas=3))
    assert fingerprint(before, SETTINGS) != fingerprint(after, SETTINGS)
    assert _plan([after], {"a"}, _applied(before)) == Plan(deploy=(after,))


def test_a_new_reconciler_runs_each_wanted_version_once() -> None:
    a = _version("a")
    assert _plan([a], {"a"}, {}) == Plan(deploy=(a,))


def test_a_failed_version_is_not_retried_with_the_same_options() -> None:
    a = _version("a")  # its application is on the cluster, in DEPLOY_FAILED
    assert _plan([a], {"a"}, _applied(a)) == Plan()


def test_a_deleted_version_loses_its_application_then_its_demand() -> None:
    assert _plan([], {"x", "other"}, {}, gone=("x",)) == Plan(delete=("x",))
    assert _plan([], {"other"}, {}, gone=("x",)) == Plan(forget=("x",))


def test_applications_nobody_demanded_are_left_alone() -> None:
    a = _version("a")
    assert _plan([a], {"a", "someone-elses"}, _applied(a)) == Plan()


def test_deploys_under_way_are_left_alone_and_new_ones_fit_the_free_slots() -> None:
    a, b, c = _version("a"), _version("b"), _version("c")
    assert _plan([a, b, c], set(), {}, deploying=frozenset({"a"}), slots=1) == Plan(deploy=(b,))
    assert _plan([a], set(), {}, gone=("a",), deploying=frozenset({"a"})) == Plan()
    assert _plan([a], set(), {}, slots=0) == Plan()


def test_a_held_version_is_not_deployed_until_its_retry_is_due() -> None:
    a, b = _version("a"), _version("b")  # a's deploy failed before Serve made it
    assert plan([a, b], (), set(), {}, frozenset(), SETTINGS, slots=4, held={"a"}) == Plan(
        deploy=(b,)
    )
    assert _plan([a, b], set(), {}) == Plan(deploy=(a, b))
