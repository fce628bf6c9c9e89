"""Clarion: a self-hosted model inference server that speaks the Clarifai API.

The public names are the SDK's; the server is started with ``clarion serve``. They are
imported on first use, so that importing a server module (the domain, say) does not load
the SDK and its gRPC stubs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from clarion.client import ClarionApiError, Inputs, Model

__version__ = "0.1.0"

__all__ = ["ClarionApiError", "Inputs", "Model", "__version__"]


def __getattr__(name: str) -> Any:
    if name in ("ClarionApiError", "Inputs", "Model"):
        import clarion.client

        return getattr(clarion.client, name)
    raise AttributeError(f"module 'clarion' has no attribute {name!r}")
