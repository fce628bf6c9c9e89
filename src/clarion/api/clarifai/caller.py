"""Who is calling a Clarifai RPC, as every handler receives it."""

from __future__ import annotations

from dataclasses import dataclass

from clarion.auth import Principal


@dataclass(frozen=True)
class Caller:
    """Who is calling, and how long they will wait (seconds; None = no deadline)."""

    principal: Principal
    timeout_s: float | None = None
