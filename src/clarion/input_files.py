"""Stored input bytes (images) under ``$CLARION_HOME/inputs``, written atomically."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class InputFiles:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, user_id: str, app_id: str, input_id: str) -> Path:
        name = hashlib.sha256(f"{user_id}/{app_id}/{input_id}".encode()).hexdigest()
        return self.root / name[:2] / f"{name}.bin"

    def write(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` so that readers see all of it or nothing."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, path)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise

    def remove(self, paths: list[str]) -> None:
        for path in paths:
            Path(path).unlink(missing_ok=True)
