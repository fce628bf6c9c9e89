"""Custom concept models: a base embedder followed by trained linear (logistic) heads.

A version's spec pins its base model version (the embedder's own spec) and the trained
artefact (``.npz`` with one weight row and bias per concept). Scores are independent
sigmoids, one per concept, or one softmax over them when the concepts were trained as
mutually exclusive (the artefact's ``softmax`` flag).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.errors import PredictionFailed
from clarion.runtime.runner import Runner


def sigmoid(x: np.ndarray) -> np.ndarray:
    result: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return result


def softmax(x: np.ndarray) -> np.ndarray:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result


class ConceptClassifierRunner(Runner[None]):
    def __init__(self, base: Runner[None], artifact: Path) -> None:
        self._base = base
        self._artifact = artifact
        self._weights: np.ndarray | None = None
        self._bias: np.ndarray | None = None
        self._softmax = False

    @classmethod
    def from_spec(cls, spec: dict[str, Any], settings: Settings) -> ConceptClassifierRunner:
        from clarion.runners import RUNNER_FACTORIES  # the base is any installed family

        base = RUNNER_FACTORIES[spec["base_runner"]](spec["base_spec"], settings)
        return cls(base, Path(spec["artifact_path"]))

    def load(self) -> None:
        if not self._artifact.is_file():
            raise PredictionFailed(f"the trained model file {self._artifact} is missing")
        with np.load(self._artifact) as artefact:
            self._weights = artefact["weights"].astype(np.float32)
            self._bias = artefact["bias"].astype(np.float32)
            self._softmax = "softmax" in artefact.files and bool(artefact["softmax"][0])
        self._base.load()

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        assert self._weights is not None and self._bias is not None, "load() first"
        embedded = self._base.predict(inputs, None)
        vectors = np.stack([o.embedding for o in embedded if o.embedding is not None])
        logits = vectors @ self._weights.T + self._bias
        scores = (softmax(logits) if self._softmax else sigmoid(logits)).astype(np.float32)
        return [Output(scores=row) for row in scores]

    def memory_bytes(self) -> int:
        return self._base.memory_bytes() + int(self._artifact.stat().st_size)

    def close(self) -> None:
        self._base.close()
