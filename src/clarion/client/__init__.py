"""Clarion's Python SDK, shaped like the Clarifai SDK's ``Model`` and ``Inputs``."""

from clarion.client.app import App
from clarion.client.errors import ClarionApiError
from clarion.client.inputs import Inputs
from clarion.client.model import Model, parse_model_url

__all__ = ["App", "ClarionApiError", "Inputs", "Model", "parse_model_url"]
