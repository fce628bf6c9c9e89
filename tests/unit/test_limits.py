"""Per-key request rates and concurrent-generation caps, on a fake clock."""

from __future__ import annotations

import pytest

from clarion.auth import Principal
from clarion.errors import InvalidRequest, StatusCode, Throttled
from clarion.limits import GENERATION_RETRY_S, KeyLimits

ALICE = Principal("alice", "aaaaaaaa")
BOB = Principal("bob", "bbbbbbbb")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_off_by_default() -> None:
    limits = KeyLimits()
    for _ in range(10_000):
        limits.admit(ALICE)
    with limits.generating(ALICE, 500):
        pass


def test_rate_allows_a_burst_then_refills() -> None:
    clock = Clock()
    limits = KeyLimits(rate_per_s=2.0, burst=3, clock=clock)
    for _ in range(3):
        limits.admit(ALICE)
    with pytest.raises(Throttled) as caught:
        limits.admit(ALICE)
    error = caught.value
    assert error.code == StatusCode.CONN_THROTTLED and error.http_status == 429
    assert error.retry_after_s == pytest.approx(0.5)
    assert "2 per second" in error.details and "CLARION_KEY_RATE" in error.details
    limits.admit(BOB)  # another key has its own bucket
    clock.now += 0.5
    limits.admit(ALICE)
    with pytest.raises(Throttled):
        limits.admit(ALICE)
    clock.now += 60  # refills up to the burst, no more
    for _ in range(3):
        limits.admit(ALICE)
    with pytest.raises(Throttled):
        limits.admit(ALICE)


def test_burst_defaults_to_one_second_of_rate() -> None:
    limits = KeyLimits(rate_per_s=5.0, clock=Clock())
    assert limits.burst == 5


def test_generation_cap_per_key() -> None:
    limits = KeyLimits(max_generations=3)
    with limits.generating(ALICE, 2):
        with pytest.raises(Throttled) as caught, limits.generating(ALICE, 2):
            pass
        assert caught.value.retry_after_s == GENERATION_RETRY_S
        assert "already has 2 inputs generating" in caught.value.details
        with limits.generating(BOB, 3):
            assert limits.generations(BOB) == 3
        with limits.generating(ALICE, 1):
            assert limits.generations(ALICE) == 3
    assert limits.generations(ALICE) == 0


def test_generation_hold_is_released_on_error() -> None:
    limits = KeyLimits(max_generations=1)
    with pytest.raises(RuntimeError), limits.generating(ALICE):
        raise RuntimeError("model failed")
    with limits.generating(ALICE):
        assert limits.generations(ALICE) == 1


def test_a_request_larger_than_the_generation_cap_is_invalid_not_throttled() -> None:
    limits = KeyLimits(max_generations=2)
    with (
        pytest.raises(InvalidRequest, match="at most 2 inputs per request"),
        limits.generating(ALICE, 3),
    ):
        pass
    assert limits.generations(ALICE) == 0
    with limits.generating(ALICE, 2):
        assert limits.generations(ALICE) == 2
