"""Stored input bytes (images) under ``$CLARION_HOME/inputs``, written atomically."""

from __future__ import annotations

import hashlib
from pathlib import Path

from clarion.atomic import write_atomically


class InputFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, user_id: str, app_id: str, input_id: str) -> Path:
        name = hashlib.sha256(f"{user_id}/{app_id}/{input_id}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.bin"

    def write(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` so that readers see all of it or nothing."""
        write_atomically(path, lambda f: f.write(data))

    def remove(self, paths: list[str]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)
