"""The back-off of deploys that failed before Serve made their application (a fake clock)."""

from __future__ import annotations

from clarion.runtime.ray.failures import MAX_RETRY_S, DeployFailures, retry_delay_s


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_retry_delay_starts_at_two_seconds_and_doubles_up_to_a_minute() -> None:
    assert [retry_delay_s(n) for n in range(1, 8)] == [2, 4, 8, 16, 32, 60, 60]
    assert MAX_RETRY_S == 60


def test_a_failed_deploy_is_held_until_its_retry_is_due_and_each_failure_doubles_it() -> None:
    """Requests hear of a failure once it repeats."""
    clock = _Clock()
    failures = DeployFailures(clock)
    assert failures.failed("a", "opts", "refused") == 2
    assert failures.held({"a": "opts", "b": "opts"}) == {"a"}
    assert failures.reason("a") is None  # once can be a passing failure: requests wait on
    clock.now += 1.9
    assert failures.held({"a": "opts"}) == {"a"}
    clock.now += 0.2
    assert failures.held({"a": "opts"}) == set()  # due: the next pass deploys it
    assert failures.failed("a", "opts", "refused again") == 4
    assert failures.reason("a") == "refused again"  # repeated: requests answer it
    clock.now += 4.1
    assert failures.held({"a": "opts"}) == set()
    assert failures.reason("a") == "refused again"  # also while it is tried again
    assert failures.failed("a", "opts", "refused again") == 8
    clock.now += 7.9
    assert failures.held({"a": "opts"}) == {"a"}
    failures.succeeded("a")
    assert failures.held({"a": "opts"}) == set() and failures.reason("a") is None
    assert failures.failed("a", "opts", "refused") == 2  # a new run of failures


def test_changed_options_or_demand_forget_the_failure() -> None:
    clock = _Clock()
    failures = DeployFailures(clock)
    for _ in range(3):
        failures.failed("a", "opts", "refused")
    failures.failed("b", "opts", "refused")
    assert failures.held({"a": "other opts", "b": "opts"}) == {"b"}  # a's scaling changed
    assert failures.reason("a") is None
    assert failures.failed("a", "other opts", "refused") == 2
    failures.failed("b", "opts", "refused")
    assert failures.reason("b") == "refused"
    assert failures.held({"a": "other opts"}) == {"a"}  # b is no longer demanded
    assert failures.reason("b") is None
