"""Which Serve application serves a version: its own, or for a head on a base embedder that
embedder's shared heads application."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from clarion.domain.scaling import ScalingSettings
from clarion.runtime import Deployment
from clarion.runtime.ray.routes import (
    application_of,
    applications,
    base_embedder,
    heads_application,
)

MINILM = Deployment("all-minilm-l6-v2", "b" * 32, "text-embedding-onnx", {"model_path": "/m"})


def _concept(version_id: str, **spec: Any) -> Deployment:
    pinned = {
        "base_model": MINILM.model_id,
        "base_version_id": MINILM.version_id,
        "artifact_path": f"/files/artifacts/{version_id}.npz",
        "kind": "text",
        "base_runner": MINILM.runner,
        "base_spec": dict(MINILM.spec),
        **spec,
    }
    return Deployment("topic", version_id, "embedding-classifier", pinned)


def test_a_version_of_another_family_is_its_own_application() -> None:
    assert base_embedder(MINILM) is None
    assert application_of(MINILM) is MINILM


def test_a_trained_head_names_the_embedder_its_spec_pins() -> None:
    base = base_embedder(_concept("c" * 32))
    assert base == Deployment(MINILM.model_id, MINILM.version_id, MINILM.runner, {})
    assert base is not None and base.spec == MINILM.spec


def test_every_head_on_one_embedder_shares_one_application_named_after_it() -> None:
    first, retrained = application_of(_concept("1" * 32)), application_of(_concept("2" * 32))
    assert first == retrained == heads_application(MINILM)
    assert first.version_id == MINILM.version_id + "-heads"
    assert first.spec == {"base_application": MINILM.version_id}


def test_heads_on_another_embedder_get_their_own_application() -> None:
    images = Deployment("general-image-embedding", "i" * 32, "image-onnx", {"output": "features"})
    on_images = _concept(
        "3" * 32, base_model=images.model_id, base_version_id=images.version_id,
        base_runner=images.runner, base_spec=dict(images.spec),
    )  # fmt: skip
    assert application_of(on_images).version_id == images.version_id + "-heads"
    assert application_of(on_images) != application_of(_concept("4" * 32))


def test_the_reconciler_runs_each_wanted_version_and_for_heads_their_embedder_and_heads_once() -> (
    None
):
    scaled = replace(MINILM, scaling=ScalingSettings(min_replicas=2, max_replicas=2))
    other = Deployment("chat", "d" * 32, "llama-cpp", {})
    wanted = [_concept("1" * 32), other, _concept("2" * 32), scaled]
    apps = applications(wanted)
    assert [a.version_id for a in apps] == [
        other.version_id,
        MINILM.version_id,
        MINILM.version_id + "-heads",
    ]
    # the embedder itself is in demand: its own scaling, not the family's defaults
    assert apps[1].scaling == scaled.scaling
    assert applications([_concept("3" * 32)])[0].scaling is None
