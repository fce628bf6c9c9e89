"""One serving process per ``CLARION_HOME``.

The server settles what a previous one left behind at start (unfinished trainings, files no
record owns); a second server on the same home would take a live server's work for
leftovers. So ``clarion serve`` holds an exclusive lock on ``$CLARION_HOME/serve.lock`` while
it runs; the kernel releases it when the process ends, however it ends (``kill -9``
included), so a restart after a crash is never blocked.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class HomeInUse(RuntimeError):
    """Another server holds the home."""


class HomeLock:
    def __init__(self, home: Path) -> None:
        self.path = home / "serve.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise HomeInUse(
                f"Another Clarion server is serving from {self.path.parent}; stop it first, "
                "or give this one its own CLARION_HOME."
            ) from exc
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None
