"""The one front end that deploys: it makes the Ray cluster's applications match the demand.

Every Ray-backed front end records the versions it needs in the shared :class:`Demand` (the
registry) and runs a :class:`Reconciler` thread, but only the elected one acts: with an
:class:`Election` (an advisory lock on PostgreSQL) each front end tries to lead every
:data:`ELECT_S` seconds, and the leader reconciles every :data:`RECONCILE_S` seconds (at
once when this process records new demand); with none (SQLite: a single server) this front
end always leads. A pass reads the demand (for a trained concept model: its base embedder's
application and the heads application on it, :func:`~clarion.runtime.ray.routes.applications`)
and the cluster's applications and carries out :func:`~clarion.runtime.ray.plan.plan`:
deploys start in threads of their own (at most :data:`MAX_DEPLOYING` at once, so a large
model's deploy never holds up a delete or a scaling change), deletes and forgetting run in
the pass. A deploy that fails is tried again with the same options only after a back-off
(2 s, doubling up to 60 s: :class:`~clarion.runtime.ray.failures.DeployFailures`), whose
reason this front end's requests answer meanwhile once it repeats
(:meth:`Reconciler.failure`).

Nothing is deleted when a reconciler stops: other front ends may serve through the
applications, and the next leader finds them in place.

    reconciler = Reconciler(demand, election, RUNNER_FACTORIES, settings)
    reconciler.start()
    reconciler.wake()      # new demand: reconcile now
    reconciler.stop()      # waits for deploys under way, then gives the lead up
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Protocol, cast

from ray import serve

from clarion.config import Settings
from clarion.runtime.backend import Deployment
from clarion.runtime.local import ChangedFiles
from clarion.runtime.ray.cluster import DEPLOY_FAILED, POLL_S, RUNNING
from clarion.runtime.ray.failures import DeployFailures
from clarion.runtime.ray.heads import HeadsReplica
from clarion.runtime.ray.options import deployment_options
from clarion.runtime.ray.plan import app_name, fingerprint, plan
from clarion.runtime.ray.replica import REPLICA_INTERFACE, ModelReplica
from clarion.runtime.ray.routes import HEADS, applications
from clarion.runtime.runner import RunnerFactory

log = logging.getLogger(__name__)

#: How often the leader reconciles.
RECONCILE_S = 1.0
#: How often a front end that does not lead tries to take the lead.
ELECT_S = 2.0
#: Deploys under way at once.
MAX_DEPLOYING = 2
#: Held while an application is built and sent to Serve. Serve 2.60 builds its configs with
#: process-wide state (cloudpickle's set of modules pickled by value, added to and removed
#: from around each one), so two deploys built at once in threads of one process can fail
#: each other ("... is not registered for pickle by value"); their waits for their replicas
#: run side by side. Serve's own threads (a handle's router reading its deployment's config)
#: can still meet a deploy this way, which is why requests hear only of a failure that
#: repeats (:data:`~clarion.runtime.ray.failures.REPORTED_AFTER`).
_SENDING = threading.Lock()


class Demand(Protocol):
    """The versions the front ends want on the cluster (kept in the registry)."""

    def want(self, version: Deployment) -> None:
        """Record that this front end needs ``version`` deployed."""

    def wanted(self) -> list[Deployment]:
        """The demanded versions that exist, with their current scaling, in deploy order."""

    def gone(self) -> list[str]:
        """Demanded version ids whose version no longer exists."""

    def forget(self, version_ids: Sequence[str]) -> None:
        """Drop the demand for ``version_ids`` (their applications are gone)."""


class Election(Protocol):
    """Leadership among the front ends on one registry; called from one thread."""

    def lead(self) -> bool:
        """Take the lead if it is free; whether this process leads now."""

    def resign(self) -> None:
        """Give the lead up."""


class Reconciler:
    """Deploys and deletes Clarion's Serve applications while this front end leads."""

    def __init__(
        self,
        demand: Demand,
        election: Election | None,
        factories: Mapping[str, RunnerFactory],
        settings: Settings,
        changed_files: ChangedFiles | None = None,
    ) -> None:
        self._demand = demand
        self._election = election
        self._factories = dict(factories)
        self._settings = settings
        self._changed_files = changed_files
        #: Application name -> the fingerprint it was last run with by this reconciler.
        self._applied: dict[str, str] = {}
        self._deploying: dict[str, Future[None]] = {}
        self._failures = DeployFailures()
        self._pool = ThreadPoolExecutor(MAX_DEPLOYING, thread_name_prefix="clarion-deploy")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="clarion-reconciler", daemon=True)
        #: Whether this front end led at its latest try.
        self.leading = False

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Reconcile now rather than at the next period (when leading)."""
        self._wake.set()

    def failure(self, name: str) -> str | None:
        """Why this reconciler's deploys of the application ``name`` keep failing (None: no
        failure stands or it has not repeated yet, or another front end reconciles)."""
        return self._failures.reason(name)

    def stop(self) -> None:
        """End the loop, wait for the deploys under way, then give the lead up. Applications
        stay on the cluster."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()
        self._pool.shutdown(wait=True)
        if self._election is not None:
            self._election.resign()
        self.leading = False

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.leading = self._election is None or self._election.lead()
                if self.leading:
                    self.reconcile()
            except Exception as exc:  # the registry or the cluster: try again next pass
                log.warning("reconciling the Ray cluster failed: %s", exc)
            self._wake.wait(RECONCILE_S if self.leading else ELECT_S)
            self._wake.clear()

    def reconcile(self) -> None:
        """One pass: make the cluster's applications match the demand."""
        for name in [n for n, f in self._deploying.items() if f.done()]:
            del self._deploying[name]
        wanted = applications(self._demand.wanted())
        gone = self._demand.gone()
        cluster = set(serve.status().applications)
        held = self._failures.held({app_name(v): fingerprint(v, self._settings) for v in wanted})
        actions = plan(
            wanted, gone, cluster, self._applied, set(self._deploying), self._settings,
            slots=MAX_DEPLOYING - len(self._deploying), held=held,
        )  # fmt: skip
        for name in actions.delete:
            serve.delete(name)
            self._applied.pop(name, None)
            log.info("deleted the Ray application of removed model version %s", name)
        self._demand.forget(actions.forget)
        for version in actions.deploy:
            name = app_name(version)
            self._applied[name] = fingerprint(version, self._settings)
            self._deploying[name] = self._pool.submit(self._deploy, version)

    def _deploy(self, version: Deployment) -> None:
        """Run ``version``'s application with its current options (a thread of the pool).
        A failure in its replicas stays visible in the application's status, where requests
        read it; any other is recorded, and the same options are tried again only after a
        back-off."""
        started = time.monotonic()
        name = app_name(version)
        options = fingerprint(version, self._settings)
        try:
            with _SENDING:
                target = serve.RunTarget(self._application(version), name, route_prefix=None)
                serve.run_many([target], wait_for_applications_running=False)
            _wait_running(name)
        except Exception as exc:
            reason = _reason(exc)
            delay_s = self._failures.failed(name, options, reason)
            log.warning(
                "model version %s failed to deploy on Ray (next try in %g s): %s",
                version.version_id,
                delay_s,
                reason,
            )
            return
        self._failures.succeeded(name)
        log.info(
            "deployed model version %s on Ray in %.1f s",
            version.version_id,
            time.monotonic() - started,
        )

    def _application(self, version: Deployment) -> serve.Application:
        """``version``'s Serve application, bound to its options and arguments."""
        # A stable code version: Serve then changes replica counts and autoscaling of a
        # running application in place instead of replacing its replicas. It names the
        # replicas' interface too, so replicas of an older one are replaced, not kept.
        options = deployment_options(version, self._settings)
        code_version = f"{version.version_id}-{REPLICA_INTERFACE}"
        if version.runner == HEADS:
            heads = cast(serve.Deployment, serve.deployment(HeadsReplica)).options(**options)
            heads = heads.options(version=code_version, _internal=True)
            return heads.bind(version.spec["base_application"], self._factories, self._settings)
        replica = (
            cast(serve.Deployment, serve.deployment(ModelReplica))
            .options(**options)
            .options(version=code_version, _internal=True)
        )
        return replica.bind(version, self._factories, self._settings, self._changed_files)


def _reason(exc: BaseException) -> str:
    """A failed deploy's reason in one line: the first line of its message and of each of
    its causes'. Serve's messages can run to pages that print the replica's arguments (the
    whole settings), which neither the log nor a client needs."""
    parts: list[str] = []
    cause: BaseException | None = exc
    while cause is not None and len(parts) < 3:
        lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
        parts.append(lines[0].rstrip(":") if lines else type(cause).__name__)
        cause = cause.__cause__
    return ": ".join(parts)


def _wait_running(name: str) -> None:
    """Wait until the application ``name`` runs; raise when its deploy failed (its replicas
    did not start) or it is gone, as ``serve.run`` does."""
    while True:
        status = serve.status().applications.get(name)
        if status is None:
            raise RuntimeError(f"the application {name} is gone while it deployed")
        if status.status == RUNNING:
            return
        if status.status == DEPLOY_FAILED:
            raise RuntimeError(f"Deploying application {name} failed: {status.message}")
        time.sleep(POLL_S)
