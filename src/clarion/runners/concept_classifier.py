"""Custom concept models: a base embedder followed by trained linear (logistic) heads.

A version's spec pins its base model version (the embedder's own spec) and the trained
artefact (``.npz`` with one weight row and bias per concept). Scores are independent
sigmoids, one per concept, or one softmax over them when the concepts were trained as
mutually exclusive (the artefact's ``softmax`` flag).

The two parts are separate: :class:`ConceptHead` turns embeddings into scores, and
:class:`ConceptClassifierRunner` puts a head behind its own copy of the base embedder (one
process). On a Ray cluster the heads on one embedder share a deployment that calls the
embedder's own (:mod:`clarion.runtime.ray.heads`), with the same head
(:meth:`ConceptClassifierRunner.read_head`).

    head = ConceptHead.read(Path(spec["artifact_path"]))
    outputs = head.apply(embedder.predict(inputs))      # Output(scores=...) per input
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, eq=False)
class ConceptHead:
    """One trained version's heads: a weight row and a bias per concept, in concept order."""

    weights: np.ndarray
    bias: np.ndarray
    #: One softmax over the concepts (trained as mutually exclusive), else a sigmoid each.
    softmax: bool

    @classmethod
    def read(cls, artifact: Path) -> ConceptHead:
        """The heads in ``artifact``; a missing file is 21313 naming it."""
        if not artifact.is_file():
            raise PredictionFailed(f"the trained model file {artifact} is missing")
        with np.load(artifact) as stored:
            return cls(
                weights=stored["weights"].astype(np.float32),
                bias=stored["bias"].astype(np.float32),
                softmax="softmax" in stored.files and bool(stored["softmax"][0]),
            )

    def apply(self, embedded: Sequence[Output]) -> list[Output]:
        """The concept scores of each embedded input, in order."""
        vectors = np.stack([o.embedding for o in embedded if o.embedding is not None])
        logits = vectors @ self.weights.T + self.bias
        scores = (softmax(logits) if self.softmax else sigmoid(logits)).astype(np.float32)
        return [Output(scores=row) for row in scores]


class ConceptClassifierRunner(Runner[None]):
    """A head behind its own copy of the base embedder; a
    :class:`~clarion.runtime.runner.HeadOnBase`, so a cluster can serve the head apart."""

    def __init__(self, base: Runner[None], artifact: Path) -> None:
        self._base = base
        self._artifact = artifact
        self._head: ConceptHead | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any], settings: Settings) -> ConceptClassifierRunner:
        from clarion.runners import RUNNER_FACTORIES  # the base is any installed family

        base = RUNNER_FACTORIES[spec["base_runner"]](spec["base_spec"], settings)
        return cls(base, Path(spec["artifact_path"]))

    def read_head(self) -> ConceptHead:
        return ConceptHead.read(self._artifact)

    def load(self) -> None:
        self._head = self.read_head()
        self._base.load()

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        assert self._head is not None, "load() first"
        return self._head.apply(self._base.predict(inputs, None))

    def memory_bytes(self) -> int:
        return self._base.memory_bytes() + int(self._artifact.stat().st_size)

    def close(self) -> None:
        self._base.close()
