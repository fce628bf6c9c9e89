"""Every built-in model, in the order they are registered and listed."""

from __future__ import annotations

from clarion.catalog.builtin import BuiltinModel
from clarion.catalog.efficientnet import IMAGE_EMBEDDING, IMAGE_RECOGNITION
from clarion.catalog.minilm import MINILM
from clarion.catalog.qwen import QWEN_CODER
from clarion.catalog.smollm import SMOLLM2

BUILTIN_MODELS: tuple[BuiltinModel, ...] = (
    MINILM,
    IMAGE_RECOGNITION,
    IMAGE_EMBEDDING,
    QWEN_CODER,
    SMOLLM2,
)
