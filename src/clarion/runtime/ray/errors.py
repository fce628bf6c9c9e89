"""What a Ray Serve call means to a Clarion caller: its wait for a replica, its errors.

- A request that no replica has taken within the load wait (``CLARION_LOAD_WAIT_S``) while
  its application has no running replica (scaled to zero, or its replicas still starting)
  is cancelled and answers :class:`ModelLoading` (21355), as a version still loading does
  in one process; it has asked Serve for a replica all the same, so a later request finds
  one. A request waiting behind running replicas that are busy waits on, and once a
  replica has taken a request only the request's own deadline bounds it
  (:func:`assigned`).
- A :class:`ClarionError` raised in a replica comes back wrapped in ``RayTaskError`` (its
  message replaced by a traceback); the original, with its code and message, is its
  ``cause`` and is what the caller gets.
- Serve's back-pressure (the deployment's queue is full) is :class:`ModelBusy` (21354).
- A deployment that failed to start, or any other failure of the call, is
  :class:`PredictionFailed` (21313) naming the version.

    outputs = await awaited(response, version_id)   # a Clarion error, or the result
    outputs = await awaited(response, version_id, app=name, load_wait_s=10)
    outputs = await awaited(response, version_id, app=name, load_wait_s=10, taken=callback)
    await assigned(pieces, name, version_id, 10)     # a stream: before its first piece

A caller cancelled while it awaits cancels the Ray request too (:func:`cancel`): merely
abandoning the awaiting task would leave the replica working.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ray.exceptions import RayTaskError
from ray.serve.exceptions import BackPressureError, DeploymentUnavailableError
from ray.serve.handle import DeploymentResponse, DeploymentResponseGenerator

from clarion.errors import ClarionError, ModelBusy, ModelLoading, PredictionFailed
from clarion.runtime.ray.cluster import running


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


async def awaited(
    response: DeploymentResponse[Any],
    version_id: str,
    *,
    app: str | None = None,
    load_wait_s: float | None = None,
    taken: Callable[[], None] | None = None,
) -> Any:
    """The result of a Serve call on ``version_id``, or the Clarion error it failed with; a
    cancelled caller cancels the call. With ``load_wait_s``, a call that no replica of the
    application ``app`` takes in that time while none runs answers 21355 (:func:`assigned`);
    ``taken()`` is called once a replica has taken it."""
    try:
        if load_wait_s is not None:
            await assigned(response, app or version_id, version_id, load_wait_s)
            if taken is not None:
                taken()
        return await response
    except asyncio.CancelledError:
        cancel(response)
        raise
    except Exception as exc:
        raise clarion_error(exc, version_id) from None


async def assigned(
    response: DeploymentResponse[Any] | DeploymentResponseGenerator[Any],
    app: str,
    version_id: str,
    wait_s: float,
) -> None:
    """Return once a replica of the application ``app`` has taken the request.

    Serve's router holds a request until a replica accepts it, with no bound while the
    application has no replica. When none has taken it within ``wait_s`` and none of
    ``app``'s replicas runs, the request is cancelled (the scale-up it asked for goes on)
    and this raises :class:`ModelLoading`; when replicas run (all busy: the request is
    queued behind theirs), it waits on. Serve's errors pass through as they are (the caller
    maps them with :func:`clarion_error`); a cancelled caller cancels the request."""
    # Resolves once the router has assigned the request to a replica that accepted it: the
    # wait Serve 2.60's ``_to_object_ref()`` makes, without its refusal of responses that
    # are not by reference; the response keeps what it fetched for the awaits after.
    taken = asyncio.ensure_future(response._fetch_future_result_async())
    try:
        done, _ = await asyncio.wait({taken}, timeout=max(0.0, wait_s))
        if not done and await asyncio.to_thread(running, app) == 0 and not taken.done():
            cancel(response)
            raise ModelLoading(
                f"Model version {version_id} is starting its replicas on the Ray cluster "
                "(none was running); retry in a few seconds."
            )
        await taken
    except asyncio.CancelledError:
        cancel(response)
        raise
    finally:
        taken.cancel()


def cancel(response: DeploymentResponse[Any] | DeploymentResponseGenerator[Any]) -> None:
    """Cancel the Ray request: the replica's task gets ``CancelledError``."""
    response.cancel()  # type: ignore[no-untyped-call]
