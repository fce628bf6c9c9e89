"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests of a module, when the server
binaries and the ``postgres`` system user are present (``.ci/run`` installs them); otherwise
those tests are skipped and say why. Import :func:`postgres_url` into a test module to use it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def _binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if isinstance(found, list):
        return found[-1] if found else None
    return found


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        user = None
    if not initdb or not pg_ctl or user is None:
        pytest.skip("PostgreSQL server binaries or the postgres user are not installed")
    root = Path(tempfile.mkdtemp(prefix="clarion-pg-"))
    os.chown(root, user.pw_uid, user.pw_gid)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = root / "data"
    subprocess.run([*as_postgres, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {root}"
    subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-o", options, "-w", "start",
                    "-l", str(root / "log")], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)
