"""The model zoo: built-in models, their weight packages and model types."""

from clarion.catalog.builtin import BUILTIN_MODELS, BuiltinModel, WeightsMissing
from clarion.catalog.model_types import MODEL_TYPES, ModelType
from clarion.catalog.setup import PUBLIC_APP, pull, register_builtins

__all__ = [
    "BUILTIN_MODELS",
    "MODEL_TYPES",
    "PUBLIC_APP",
    "BuiltinModel",
    "ModelType",
    "WeightsMissing",
    "pull",
    "register_builtins",
]
