"""The model zoo: built-in models, their weight packages and model types."""

from clarion.catalog.builtin import BuiltinModel, WeightsMissing
from clarion.catalog.model_types import MODEL_TYPES, ModelType
from clarion.catalog.setup import PUBLIC_APP, prepare, pull, register_builtins
from clarion.catalog.zoo import BUILTIN_MODELS

__all__ = [
    "BUILTIN_MODELS",
    "MODEL_TYPES",
    "PUBLIC_APP",
    "BuiltinModel",
    "ModelType",
    "WeightsMissing",
    "prepare",
    "pull",
    "register_builtins",
]
