"""Clarion: a self-hosted model inference server that speaks the Clarifai API.

The public names are the SDK's; the server is started with ``clarion serve``.
"""

from clarion.client import ClarionApiError, Inputs, Model

__version__ = "0.1.0"

__all__ = ["ClarionApiError", "Inputs", "Model", "__version__"]
