"""The deploys that failed on this reconciler, and when each may be tried again (no Ray).

A deploy can fail before Serve makes its application (the deployment's options or the
replica's arguments refused, the controller unreachable): the application is then missing
from the cluster, and without a record the next pass (every second) would deploy it again.
Each failure is kept with the options it was tried with and its reason:

- the same options are tried again only after a back-off, :data:`FIRST_RETRY_S` after the
  first failure and doubling after each one up to :data:`MAX_RETRY_S`;
- the record is dropped when the version's options change (its scaling settings), when it
  is no longer demanded, and when a deploy of it succeeds, so the next try is at once;
- requests on this front end waiting for the application read the reason (21313) rather
  than waiting the whole load wait, once the deploy failed :data:`REPORTED_AFTER` times in
  a row: a single failure can be a passing one (Serve 2.60's client keeps process-wide
  pickling state that its own threads change, and a deploy built meanwhile can fail), and
  its retry 2 s later usually succeeds without a request hearing of it.

A failure after Serve made the application (its replicas fail to start) shows in the
application's status (``DEPLOY_FAILED``), which is what requests read for it.

    failures = DeployFailures()                       # or DeployFailures(clock=fake)
    delay_s = failures.failed("a1b2...", fingerprint, "the options were refused")
    held = failures.held({"a1b2...": fingerprint})   # {"a1b2..."} until the retry is due
    failures.reason("a1b2...")                        # what requests answer (once repeated)
    failures.succeeded("a1b2...")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: The wait before the first retry of a failed deploy; it doubles after each failure.
FIRST_RETRY_S = 2.0
#: The longest wait between two tries of one failing deploy.
MAX_RETRY_S = 60.0
#: Failures in a row after which requests answer the reason.
REPORTED_AFTER = 2


def retry_delay_s(failures: int) -> float:
    """The wait after the ``failures``-th failure in a row of one deploy."""
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2.0 ** max(0, failures - 1))


@dataclass(frozen=True)
class Failure:
    #: The options (:func:`~clarion.runtime.ray.plan.fingerprint`) the deploy was tried with.
    fingerprint: str
    reason: str
    #: Failures in a row with these options.
    count: int
    #: When (on the clock) these options may be tried again.
    retry_at: float


class DeployFailures:
    """Failed deploys by application name; safe to use from several threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, Failure] = {}
        self._lock = threading.Lock()

    def failed(self, name: str, fingerprint: str, reason: str) -> float:
        """Record that deploying ``name`` with ``fingerprint`` failed; the seconds before
        it may be tried again."""
        with self._lock:
            last = self._failures.get(name)
            count = 1 if last is None or last.fingerprint != fingerprint else last.count + 1
            delay_s = retry_delay_s(count)
            self._failures[name] = Failure(fingerprint, reason, count, self._clock() + delay_s)
            return delay_s

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name, None)

    def held(self, wanted: Mapping[str, str]) -> set[str]:
        """Of the ``wanted`` applications (name -> the fingerprint of their options now),
        those not to deploy yet: their last deploy failed with the same options and the
        retry is not due. Failures of applications no longer wanted, or whose options
        changed, are forgotten."""
        now = self._clock()
        with self._lock:
            for name in list(self._failures):
                if wanted.get(name) != self._failures[name].fingerprint:
                    del self._failures[name]
            return {name for name, f in self._failures.items() if f.retry_at > now}

    def reason(self, name: str) -> str | None:
        """Why the last deploy of ``name`` failed, while its failure stands and has
        repeated (:data:`REPORTED_AFTER`)."""
        with self._lock:
            failure = self._failures.get(name)
            if failure is None or failure.count < REPORTED_AFTER:
                return None
            return failure.reason
