"""A model version's Serve deployment options from its family and scaling settings."""

from __future__ import annotations

from pathlib import Path

from clarion.config import Settings
from clarion.domain.scaling import ScalingSettings
from clarion.runtime import Deployment
from clarion.runtime.ray.options import by_reference, coalesces, deployment_options


def _settings(**overrides: object) -> Settings:
    return Settings.from_env({"CLARION_HOME": str(Path("/nonexistent"))}, **overrides)


def _version(runner: str, scaling: ScalingSettings | None = None, **spec: object) -> Deployment:
    return Deployment("m", "v" * 32, runner, dict(spec), scaling)


def test_an_embedder_takes_a_whole_batch_at_once_on_one_fixed_replica() -> None:
    options = deployment_options(_version("text-embedding-onnx"), _settings(batch_max_size=64))
    assert options["max_ongoing_requests"] == 64
    assert options["max_queued_requests"] == 1024
    assert options["num_replicas"] == 1 and "autoscaling_config" not in options
    assert options["ray_actor_options"] == {"num_cpus": 1}
    assert options["logging_config"] == {"enable_access_log": False}


def test_an_llm_takes_its_engine_slots_its_threads_and_its_measured_memory() -> None:
    version = _version("llm-llamacpp", n_parallel=4, memory_mib=900)
    options = deployment_options(version, _settings(llm_threads=3, llm_queue_size=10))
    assert options["max_ongoing_requests"] == 4
    assert options["max_queued_requests"] == 10
    assert options["ray_actor_options"] == {"num_cpus": 3, "memory": 900 * 1024 * 1024}


def test_scaling_between_bounds_is_autoscaled_and_unset_fields_take_the_family_defaults() -> None:
    scaling = ScalingSettings(
        min_replicas=0,
        max_replicas=4,
        max_queued_requests=7,
        scale_up_delay_seconds=1,
        scale_down_delay_seconds=20,
        scale_to_zero_delay_seconds=120,
    )
    options = deployment_options(_version("llm-llamacpp", scaling), _settings())
    assert "num_replicas" not in options
    assert options["max_ongoing_requests"] == 8 and options["max_queued_requests"] == 7
    assert options["autoscaling_config"] == {
        "min_replicas": 0,
        "initial_replicas": 1,
        "max_replicas": 4,
        "target_ongoing_requests": 8,
        "upscale_delay_s": 1,
        "downscale_delay_s": 20,
        "downscale_to_zero_delay_s": 120,
        "look_back_period_s": 20,
    }


def test_the_averaging_window_stays_within_serves_bounds() -> None:
    for delay, window in ((2, 12.0), (600, 30.0)):
        scaling = ScalingSettings(max_replicas=2, scale_down_delay_seconds=delay)
        options = deployment_options(_version("image-onnx", scaling), _settings())
        assert options["autoscaling_config"]["look_back_period_s"] == window


def test_a_heads_application_asks_for_a_quarter_cpu_and_takes_a_whole_batch() -> None:
    heads = _version("concept-heads", base_application="b" * 32)
    options = deployment_options(heads, _settings(batch_max_size=32))
    assert options["ray_actor_options"] == {"num_cpus": 0.25}
    assert options["max_ongoing_requests"] == 32 and options["num_replicas"] == 1


def test_calls_go_over_grpc_unless_the_version_may_scale_to_zero() -> None:
    settings = _settings()
    assert not by_reference(_version("text-embedding-onnx"), settings)
    fixed = ScalingSettings(min_replicas=2, max_replicas=2)
    assert not by_reference(_version("text-embedding-onnx", fixed), settings)
    to_zero = ScalingSettings(min_replicas=0, max_replicas=2)
    assert by_reference(_version("text-embedding-onnx", to_zero), settings)
    assert by_reference(_version("llm-llamacpp", to_zero, n_parallel=4), settings)


def test_only_fixed_replica_counts_of_batched_models_share_calls() -> None:
    settings = _settings()
    autoscaled = ScalingSettings(min_replicas=1, max_replicas=3)
    assert coalesces(_version("text-embedding-onnx"), settings)
    assert not coalesces(_version("text-embedding-onnx", autoscaled), settings)
    assert not coalesces(_version("llm-llamacpp", n_parallel=4), settings)
