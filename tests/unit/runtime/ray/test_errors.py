"""Ray's exceptions as the Clarion errors they stand for, and the bounded wait for a replica
to take a request (a fake response, no cluster)."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("ray", reason="the Ray extra (clarion[ray]) is not installed")

from ray.exceptions import RayTaskError
from ray.serve.exceptions import BackPressureError

from clarion.errors import InvalidParameter, ModelBusy, ModelLoading, PredictionFailed
from clarion.runtime.ray import errors
from clarion.runtime.ray.errors import assigned, clarion_error

VERSION = "v" * 32


def test_a_clarion_error_from_a_replica_comes_back_as_itself() -> None:
    original = InvalidParameter("temperature must be at most 2", parameter="temperature")
    wrapped = RayTaskError("predict", "Traceback ...", original)
    error = clarion_error(wrapped, VERSION)
    assert error is original and error.code == 21202


def test_back_pressure_is_busy_and_anything_else_a_failed_prediction() -> None:
    busy = clarion_error(BackPressureError(num_queued_requests=4, max_queued_requests=4), VERSION)
    assert isinstance(busy, ModelBusy) and busy.code == 21354
    failed = clarion_error(RayTaskError("predict", "Traceback ...", ValueError("boom")), VERSION)
    assert isinstance(failed, PredictionFailed) and "boom" in failed.details


def test_cancellation_passes_through() -> None:
    cancelled = asyncio.CancelledError()
    assert clarion_error(cancelled, VERSION) is cancelled


class _Response:
    """A Serve response whose request a replica takes when ``take`` is set."""

    def __init__(self) -> None:
        self.take = asyncio.Event()
        self.cancelled = False

    async def _fetch_future_result_async(self) -> object:
        await self.take.wait()
        return object()

    def cancel(self) -> None:
        self.cancelled = True


def _replicas(monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    asked: list[str] = []

    def running(app: str) -> int:
        asked.append(app)
        return count

    monkeypatch.setattr(errors, "running", running)
    return asked


def test_a_request_no_replica_takes_while_none_runs_is_cancelled_as_loading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _replicas(monkeypatch, 0)
    response = _Response()
    with pytest.raises(ModelLoading) as loading:
        asyncio.run(assigned(response, "app", VERSION, 0.05))  # type: ignore[arg-type]
    assert loading.value.code == 21355 and "starting its replicas" in loading.value.details
    assert response.cancelled and asked == ["app"]


def test_a_request_behind_busy_running_replicas_waits_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _replicas(monkeypatch, 2)
    response = _Response()

    async def scenario() -> None:
        waiting = asyncio.ensure_future(assigned(response, "app", VERSION, 0.05))  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
        assert not waiting.done()
        response.take.set()
        await waiting

    asyncio.run(scenario())
    assert not response.cancelled


def test_a_request_taken_in_time_asks_nothing_and_a_cancelled_caller_cancels_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked = _replicas(monkeypatch, 0)
    taken = _Response()
    taken.take.set()
    asyncio.run(assigned(taken, "app", VERSION, 5))  # type: ignore[arg-type]
    assert asked == [] and not taken.cancelled

    left = _Response()

    async def scenario() -> None:
        waiting = asyncio.ensure_future(assigned(left, "app", VERSION, 5))  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting

    asyncio.run(scenario())
    assert left.cancelled
