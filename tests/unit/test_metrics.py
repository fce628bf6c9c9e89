"""The runtime's observer records into the Prometheus metrics with model and version labels."""

from __future__ import annotations

from clarion.metrics import Metrics
from clarion.runtime import Deployment


def test_runtime_events_become_labelled_metrics() -> None:
    metrics = Metrics()
    observer = metrics.runtime_observer()
    version = Deployment("chat", "v" * 32, "toy", {})
    observer.on_loaded_count(2)
    observer.on_batch(version, 8)
    observer.on_queue_depth(version, 3)
    observer.on_in_flight(version, 5)
    observer.on_tokens(version, 12)
    text = metrics.render().decode()
    labels = f'model="chat",version="{"v" * 32}"'
    assert "clarion_loaded_models 2.0" in text
    assert f"clarion_batch_size_sum{{{labels}}} 8.0" in text
    assert f"clarion_queue_depth{{{labels}}} 3.0" in text
    assert f"clarion_in_flight_inputs{{{labels}}} 5.0" in text
    assert f"clarion_generated_tokens_total{{{labels}}} 12.0" in text
