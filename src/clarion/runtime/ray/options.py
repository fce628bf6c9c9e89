"""The Ray Serve options of one model version's deployment, from its family and scaling.

Pure values (no Ray import), so they are checked without a cluster:

- ``ray_actor_options``: ``num_cpus`` = the LLM engine's threads (``CLARION_LLM_THREADS``),
  a quarter for a heads application (its replicas wait on the embedder's and multiply a
  matrix), else 1; ``memory`` = the version's measured peak (spec ``memory_mib``) when it has
  one;
- ``max_ongoing_requests``: at least the batch size (so concurrent requests reach the
  replica's dynamic batcher together), the LLM's engine slots for a chat model;
- ``max_queued_requests``: bounded; a request beyond it is refused (21354);
- ``max_constructor_retry_count``: a replica that fails to load is tried
  :data:`CONSTRUCTOR_TRIES` times, then the deploy fails;
- ``logging_config``: no access log line per request in the replica (the front end's
  metrics count requests; the line cost the replica's loop time on every call);
- a fixed ``num_replicas`` when ``min_replicas == max_replicas``, else an
  ``autoscaling_config`` (``min_replicas`` 0 scales to zero after
  ``scale_to_zero_delay_seconds`` without use).

How predict calls travel is chosen here too (:func:`by_reference`), and whether concurrent
ones share calls (:func:`coalesces`).

    options = deployment_options(version, settings)
    serve.deployment(ModelReplica).options(**options)
    handle.options(_by_reference=by_reference(version, settings))
    Coalescer(send, coalesce=coalesces(version, settings))
"""

from __future__ import annotations

from typing import Any

from clarion.config import Settings
from clarion.domain.scaling import ScalingSettings
from clarion.runtime.backend import Deployment
from clarion.runtime.ray.routes import HEADS

#: The runner family of chat models: one replica's concurrency is its engine's slots.
LLM_FAMILY = "llm-llamacpp"
#: Engine slots of an LLM whose spec names none (the runner's own default).
DEFAULT_LLM_SLOTS = 8
#: The window autoscaling averages the ongoing requests over: the down-scale delay within
#: these bounds (it must span more than one of Serve's 10 s reports).
MIN_LOOK_BACK_S = 12.0
MAX_LOOK_BACK_S = 30.0
#: The CPUs a replica of a heads application asks for.
HEADS_CPUS = 0.25
#: Replica starts that may fail in a row before Serve gives the deploy up (DEPLOY_FAILED):
#: a model that fails to load (missing files, too little memory) fails again.
CONSTRUCTOR_TRIES = 3


def family_scaling(version: Deployment, settings: Settings) -> ScalingSettings:
    """The scaling a version of this family gets when its own settings leave a field unset."""
    if version.runner == LLM_FAMILY:
        slots = int(version.spec.get("n_parallel", DEFAULT_LLM_SLOTS))
        return ScalingSettings(
            target_ongoing_requests=slots,
            max_ongoing_requests=slots,
            max_queued_requests=settings.llm_queue_size or 4 * slots,
        )
    batch = settings.batch_max_size
    return ScalingSettings(
        target_ongoing_requests=max(1, batch // 4),
        max_ongoing_requests=batch,
        max_queued_requests=settings.queue_size,
    )


def effective_scaling(version: Deployment, settings: Settings) -> ScalingSettings:
    family = family_scaling(version, settings)
    return family if version.scaling is None else version.scaling.with_defaults(family)


def deployment_options(version: Deployment, settings: Settings) -> dict[str, Any]:
    """Keyword arguments of ``serve.deployment(...).options`` for ``version``."""
    scaling = effective_scaling(version, settings)
    actor: dict[str, Any] = {"num_cpus": 1}
    if version.runner == LLM_FAMILY and settings.llm_threads:
        actor["num_cpus"] = settings.llm_threads
    if version.runner == HEADS:
        actor["num_cpus"] = HEADS_CPUS
    memory_mib = version.spec.get("memory_mib")
    if memory_mib is not None:
        actor["memory"] = int(memory_mib) * 1024 * 1024
    options: dict[str, Any] = {
        "name": "model",
        "ray_actor_options": actor,
        "max_ongoing_requests": scaling.max_ongoing_requests,
        "max_queued_requests": scaling.max_queued_requests,
        "graceful_shutdown_timeout_s": settings.shutdown_grace_s,
        "max_constructor_retry_count": CONSTRUCTOR_TRIES,
        "logging_config": {"enable_access_log": False},
    }
    if scaling.min_replicas == scaling.max_replicas:
        options["num_replicas"] = scaling.max_replicas
    else:
        options["autoscaling_config"] = autoscaling_config(scaling)
    return options


def autoscaling_config(scaling: ScalingSettings) -> dict[str, Any]:
    """Serve's ``AutoscalingConfig`` fields for ``scaling`` (between its two bounds): the
    ongoing requests are averaged over the down-scale delay, kept within 12 to 30 s."""
    look_back = min(MAX_LOOK_BACK_S, max(MIN_LOOK_BACK_S, scaling.scale_down_delay_seconds))
    return {
        "min_replicas": scaling.min_replicas,
        "initial_replicas": max(1, scaling.min_replicas),
        "max_replicas": scaling.max_replicas,
        "target_ongoing_requests": scaling.target_ongoing_requests,
        "upscale_delay_s": scaling.scale_up_delay_seconds,
        "downscale_delay_s": scaling.scale_down_delay_seconds,
        "downscale_to_zero_delay_s": scaling.scale_to_zero_delay_seconds,
        "look_back_period_s": look_back,
    }


def by_reference(version: Deployment, settings: Settings) -> bool:
    """Whether predict calls to ``version`` go to its replicas as Ray actor tasks returning
    object references (Serve's default), rather than over Serve's gRPC transport.

    Measured with one-sentence embeddings at one client, a request reached its replica
    2.9 to 3.9 ms after it was sent as an actor task and 1.6 ms over gRPC (an option of Serve
    2.60 itself; ``ray[serve]`` is pinned). A version that may scale to zero keeps actor tasks:
    over gRPC, a request cancelled while no replica ran (21355) left Serve never starting one.
    """
    return effective_scaling(version, settings).min_replicas < 1


def coalesces(version: Deployment, settings: Settings) -> bool:
    """Whether concurrent predict requests to ``version`` may share Serve calls
    (:mod:`~clarion.runtime.ray.coalesce`): only with a fixed number of replicas, since
    Serve autoscales on the calls in flight, and not for a chat model, whose requests run
    for seconds each (a call answers when all of its requests have)."""
    if version.runner == LLM_FAMILY:
        return False
    scaling = effective_scaling(version, settings)
    return scaling.min_replicas == scaling.max_replicas
