"""What a failed Ray Serve call means to a Clarion caller.

- A :class:`ClarionError` raised in a replica comes back wrapped in ``RayTaskError`` (its
  message replaced by a traceback); the original, with its code and message, is its
  ``cause`` and is what the caller gets.
- Serve's back-pressure (the deployment's queue is full) is :class:`ModelBusy` (21354).
- A deployment that failed to start, or any other failure of the call, is
  :class:`PredictionFailed` (21313) naming the version.

    outputs = await awaited(response, version_id)   # a Clarion error, or the result

A caller cancelled while it awaits cancels the Ray request too (:func:`cancel`): merely
abandoning the awaiting task would leave the replica working.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ray.exceptions import RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentResponse, DeploymentResponseGenerator

from clarion.errors import ClarionError, ModelBusy, PredictionFailed


def clarion_error(exc: BaseException, version_id: str) -> BaseException:
    """The Clarion error ``exc`` (from a Serve call on ``version_id``) stands for; other
    exceptions (cancellation) are returned as they are."""
    cause = exc.cause if isinstance(exc, RayTaskError) else exc
    if isinstance(cause, ClarionError):
        return cause
    if isinstance(cause, BackPressureError):
        return ModelBusy(
            f"Model version {version_id} has as many requests waiting as it takes; retry shortly."
        )
    if isinstance(cause, DeploymentUnavailableError):
        return PredictionFailed(f"Model version {version_id} could not be started: {cause}")
    if isinstance(exc, RayTaskError):
        return PredictionFailed(f"Model version {version_id} failed: {cause!r}")
    return exc


async def awaited(response: DeploymentResponse[Any], version_id: str) -> Any:
    """The result of a Serve call on ``version_id``, or the Clarion error it failed with; a
    cancelled caller cancels the call."""
    try:
        return await response
    except asyncio.CancelledError:
        cancel(response)
        raise
    except Exception as exc:
        raise clarion_error(exc, version_id) from None


def cancel(response: DeploymentResponse[Any] | DeploymentResponseGenerator[Any]) -> None:
    """Cancel the Ray request: the replica's task gets ``CancelledError``."""
    response.cancel()  # type: ignore[no-untyped-call]
