"""Ray's exceptions as the Clarion errors they stand for."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("ray", reason="the Ray extra (clarion[ray]) is not installed")

from ray.exceptions import RayTaskError
from ray.serve.exceptions import BackPressureError

from clarion.errors import InvalidParameter, ModelBusy, PredictionFailed
from clarion.runtime.ray.errors import clarion_error

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
