"""InFlight admission: counts inputs, refuses past its limit, never partly."""

from __future__ import annotations

import pytest

from clarion.errors import ModelBusy
from clarion.runtime.admission import InFlight


def test_admits_up_to_the_limit_and_refuses_whole_requests_past_it() -> None:
    gate = InFlight(limit=3)
    gate.admit(2)
    with pytest.raises(ModelBusy, match="working on 2 inputs and takes at most 3") as info:
        gate.admit(2)
    assert info.value.code == 21354 and gate.count == 2
    with gate.admitted(1):
        assert gate.count == 3
    assert gate.count == 2


def test_no_limit_admits_everything_and_releases_on_errors() -> None:
    gate = InFlight()
    gate.admit(10_000)
    with pytest.raises(RuntimeError), gate.admitted(5):
        raise RuntimeError("the call failed")
    assert gate.count == 10_000


def test_every_change_of_the_count_is_reported() -> None:
    seen: list[int] = []
    gate = InFlight(limit=4, on_change=seen.append)
    with gate.admitted(3):
        gate.admit(1)
        gate.release(1)
    with pytest.raises(ModelBusy):
        gate.admit(5)  # refused: nothing changed, nothing reported
    assert seen == [3, 4, 3, 0]
