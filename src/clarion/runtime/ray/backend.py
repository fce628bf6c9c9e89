"""The Ray backend: each model version a Ray Serve application, called through its handle.

A version runs as an application named after its version id, whose one deployment runs
:class:`ModelReplica` with options from its family and scaling (:func:`deployment_options`).
This front end never deploys it itself: on the version's first use (or when preloaded) it
records the demand and waits for the application to run; the elected :class:`Reconciler`
(this front end or another on the same registry) deploys it. Requests that find it still
deploying wait up to ``CLARION_LOAD_WAIT_S``, then answer 21355, as in one process (the
same :class:`Residency` tracks the waits; Serve's autoscaling replaces idle unloading); so
do those that find it running but scaled to zero, when no replica takes them within what
is left of that wait (:func:`~clarion.runtime.ray.errors.assigned`). Those that find its
deploy failed answer 21313 with the reason: the application's status, or, for a deploy
this front end's reconciler tried that failed before Serve made the application, the
reconciler's record (:meth:`Reconciler.failure`). A trained concept model is the exception
(:mod:`~clarion.runtime.ray.routes`): its head runs in the heads application of its base
embedder, shared by every head on it, which the reconciler deploys with the embedder's own.

- a cancelled caller (client gone, deadline passed) cancels the Ray request with the
  response's ``cancel()``, which reaches the replica's task; merely abandoning the awaiting
  task would leave the replica working;
- errors keep their meaning across Ray (:func:`~clarion.runtime.ray.errors.awaited`);
- predict calls go over Serve's gRPC transport to a version that keeps a replica, as Ray
  actor tasks to one that may scale to zero (:func:`~clarion.runtime.ray.options.by_reference`);
- requests to a version with a fixed number of replicas that arrive while one of its calls
  is in transit share the next call (:mod:`~clarion.runtime.ray.coalesce`).

    backend = RayBackend(RUNNER_FACTORIES, settings, demand=demand, election=election)
    outputs = await backend.predict(version, inputs)
    await backend.close()                  # applications stay for the other front ends
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from ray import serve
from ray.serve.handle import DeploymentHandle, DeploymentResponse, DeploymentResponseGenerator
from ray.serve.schema import ApplicationStatusOverview

from clarion.config import Settings
from clarion.domain.placement import ServedVersion
from clarion.domain.values import Input, Output
from clarion.errors import InternalError, PredictionFailed
from clarion.runtime.backend import Deployment, Params
from clarion.runtime.local import ChangedFiles
from clarion.runtime.observer import NoObserver
from clarion.runtime.ray.cluster import (
    DEPLOY_FAILED,
    POLL_S,
    RUNNING,
    connect,
    replicas,
    running,
)
from clarion.runtime.ray.coalesce import Coalescer, Request, Result
from clarion.runtime.ray.errors import assigned, awaited, cancel, clarion_error
from clarion.runtime.ray.heads import predict_head
from clarion.runtime.ray.options import by_reference, coalesces
from clarion.runtime.ray.plan import app_name
from clarion.runtime.ray.reconciler import Demand, Election, Reconciler
from clarion.runtime.ray.replica import ReplicaStats
from clarion.runtime.ray.routes import HEADS, application_of, base_embedder
from clarion.runtime.residency import Residency
from clarion.runtime.runner import RunnerFactory

log = logging.getLogger(__name__)


@dataclass
class _Application:
    version: Deployment
    handle: DeploymentHandle[Any]
    #: Sends its predict calls; None for a heads application (``predict_head`` calls it).
    calls: Coalescer | None
    #: Serve scales the replicas; nothing here is unloaded for being idle or large.
    busy: bool = False

    def memory_bytes(self) -> int:
        return 0


class RayBackend:
    """Serves model versions as Ray Serve applications on the cluster at ``ray_address``.

    ``demand`` is shared by the front ends on one registry; ``election`` picks the one of
    them that deploys (None: this one, the only front end)."""

    def __init__(
        self,
        factories: Mapping[str, RunnerFactory],
        settings: Settings,
        changed_files: ChangedFiles | None = None,
        *,
        demand: Demand,
        election: Election | None = None,
    ) -> None:
        connect(settings.ray_address)
        self._settings = settings
        self._demand = demand
        tracking = replace(settings, idle_unload_s=0.0, memory_budget_mb=0)
        self._apps: Residency[_Application] = Residency(
            self._attach, self._detach, tracking, NoObserver()
        )
        #: Versions whose demand this front end has recorded.
        self._wanted: set[str] = set()
        self.reconciler = Reconciler(demand, election, factories, settings, changed_files)
        self.reconciler.start()

    # finding applications ------------------------------------------------------------

    def deployed_versions(self) -> list[str]:
        return self._apps.versions()

    async def load(self, version: Deployment) -> None:
        await self._application(version, wait_s=None)

    async def _application(self, version: Deployment, wait_s: float | None) -> _Application:
        """The running application that serves ``version``, its demand recorded on first use;
        for a trained concept model its base embedder's runs too (the heads call it by name),
        both within ``wait_s``."""
        if version.version_id not in self._wanted:
            await asyncio.to_thread(self._demand.want, version)
            self._wanted.add(version.version_id)
            self.reconciler.wake()
        base = base_embedder(version)
        if base is not None:
            started = time.monotonic()
            await self._apps.get(base, wait_s)
            if wait_s is not None:
                wait_s = max(0.0, wait_s - (time.monotonic() - started))
        return await self._apps.get(application_of(version), wait_s)

    async def _attach(self, version: Deployment) -> _Application:
        """Wait for the application of ``version`` (a version, or a heads application) to
        run."""
        started = time.monotonic()
        name = app_name(version)
        while True:
            status = (await asyncio.to_thread(serve.status)).applications.get(name)
            if status is not None and status.status == RUNNING:
                break
            if status is not None and status.status == DEPLOY_FAILED:
                raise PredictionFailed(
                    f"model version {version.version_id} failed to deploy on the Ray "
                    f"cluster: {_failure(status)}"
                )
            # A deploy this front end tried failed before Serve made the application.
            reason = None if status is not None else self.reconciler.failure(name)
            if reason is not None:
                raise PredictionFailed(
                    f"model version {version.version_id} failed to deploy on the Ray "
                    f"cluster: {reason}"
                )
            await asyncio.sleep(POLL_S)
        handle = await asyncio.to_thread(serve.get_app_handle, name)
        log.info(
            "model version %s runs on Ray (waited %.1f s)",
            version.version_id,
            time.monotonic() - started,
        )
        if version.runner == HEADS:
            return _Application(version, handle, None)
        travel = by_reference(version, self._settings)

        async def send(
            requests: list[Request], load_wait_s: float, taken: Callable[[], None]
        ) -> list[Result]:
            # Per call, from the application's handle, so every call shares its router: a
            # handle made with options() before the first call keeps a router of its own,
            # and after a request cancelled at zero replicas Serve never started one.
            caller = handle.options(_by_reference=travel)
            response = cast("DeploymentResponse[Any]", caller.predict_all.remote(requests))
            results: list[Result] = await awaited(
                response, version.version_id, app=name, load_wait_s=load_wait_s, taken=taken
            )
            return results

        return _Application(
            version, handle, Coalescer(send, coalesce=coalesces(version, self._settings))
        )

    async def _detach(self, app: _Application) -> None:
        """Only the reconciler deletes applications: here the calls still out are cancelled."""
        if app.calls is not None:
            await app.calls.close()

    # calling -------------------------------------------------------------------------

    async def predict(
        self,
        version: Deployment,
        inputs: Sequence[Input],
        params: Params = None,
        *,
        deadline: float | None = None,
    ) -> list[Output]:
        loop = asyncio.get_running_loop()
        wait_until = loop.time() + self._settings.load_wait_s
        app = await self._application(version, self._settings.load_wait_s)
        if app.calls is not None:
            return await app.calls.predict(list(inputs), params, deadline, wait_until)
        timeout_s = None
        if deadline is not None:
            timeout_s = max(0.0, deadline - loop.time())
        response = predict_head(app.handle, version, inputs, params, timeout_s)
        left = wait_until - loop.time()
        outputs: list[Output] = await awaited(
            response, version.version_id, app=app_name(app.version), load_wait_s=left
        )
        return outputs

    async def stream(
        self, version: Deployment, item: Input, params: Params = None
    ) -> AsyncGenerator[Output, None]:
        loop = asyncio.get_running_loop()
        wait_until = loop.time() + self._settings.load_wait_s
        app = await self._application(version, self._settings.load_wait_s)
        pieces = cast(
            "DeploymentResponseGenerator[Output]",
            app.handle.options(stream=True).stream.remote(item, params),
        )
        finished = False
        try:
            await assigned(
                pieces, app_name(app.version), version.version_id, wait_until - loop.time()
            )
            async for piece in pieces:
                yield piece
            finished = True
        except Exception as exc:
            finished = True
            raise clarion_error(exc, version.version_id) from None
        finally:
            if not finished:  # the consumer went away: stop the replica's generation
                cancel(pieces)

    async def replica_stats(self, version: Deployment) -> ReplicaStats:
        """One replica's stats (whichever Serve routes this call to)."""
        app = await self._application(version, self._settings.load_wait_s)
        response = cast("DeploymentResponse[Any]", app.handle.stats.remote())
        wait_s = self._settings.load_wait_s
        stats: ReplicaStats = await awaited(
            response, version.version_id, app=app_name(app.version), load_wait_s=wait_s
        )
        return stats

    async def running_replicas(self, version: Deployment) -> int:
        """How many replicas of ``version`` are running now (0 when it is not deployed)."""
        return await asyncio.to_thread(running, app_name(application_of(version)))

    async def served(self) -> list[ServedVersion]:
        """Every application on the cluster with its replicas; the model id is known for
        the versions this front end has called."""
        try:
            placed = await asyncio.to_thread(replicas)
        except Exception as exc:  # the controller unreachable: say so, do not fail the caller
            raise InternalError(f"The Ray cluster did not list its replicas: {exc}") from exc
        known = {app.version.version_id: app.version.model_id for app in self._apps.entries()}
        return [ServedVersion(known.get(name, ""), name, placed[name]) for name in sorted(placed)]

    async def close(self) -> None:
        """Stop waiting and reconciling (giving up the lead); the applications stay on the
        cluster for the other front ends. The process stays joined to the cluster until it
        exits: Serve's handles keep background tasks that a later ``ray.init`` in the same
        process would find stale."""
        await self._apps.close()
        await asyncio.to_thread(self.reconciler.stop)


def _failure(status: ApplicationStatusOverview) -> str:
    """What made a deploy fail: the last line of each deployment's message (the replica's
    error), else the application's."""
    reasons = [
        lines[-1]
        for deployment in status.deployments.values()
        if (lines := [line for line in deployment.message.splitlines() if line.strip()])
    ]
    return "; ".join(reasons) or status.message
