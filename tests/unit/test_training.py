"""The training fit on its own: heads fitted on given embeddings, no model weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from clarion.domain.models import ConceptMetrics
from clarion.domain.values import Concept
from clarion.runners.concept_classifier import sigmoid, softmax
from clarion.training import fit, save_artifact
from clarion.training_params import TrainParams

CONCEPTS = (Concept("cat", "Cat"), Concept("dog", "Dog"), Concept("fox", "Fox"))


def _clusters(per_concept: int = 12, dims: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Well separated points around one axis per concept, with one-hot labels."""
    rng = np.random.default_rng(0)
    vectors, labels = [], []
    for column in range(len(CONCEPTS)):
        centre = np.zeros(dims, dtype=np.float32)
        centre[column] = 4.0
        vectors.append(centre + rng.normal(0, 0.3, (per_concept, dims)).astype(np.float32))
        labels.append(np.eye(len(CONCEPTS), dtype=np.int8)[[column] * per_concept])
    return np.concatenate(vectors), np.concatenate(labels)


def test_independent_heads_separate_the_concepts_with_held_out_metrics() -> None:
    vectors, labels = _clusters()
    weights, bias, metrics = fit(vectors, labels, CONCEPTS)
    assert weights.shape == (3, 8) and bias.shape == (3,)
    scores = sigmoid(vectors @ weights.T + bias)
    assert ((scores >= 0.5) == labels.astype(bool)).all()
    assert metrics.accuracy == 1.0
    assert metrics.per_concept["dog"] == ConceptMetrics(precision=1.0, recall=1.0, positives=12)
    assert metrics.method.startswith("stratified cross-validation")


def test_mutually_exclusive_concepts_get_one_softmax() -> None:
    vectors, labels = _clusters()
    weights, bias, metrics = fit(vectors, labels, CONCEPTS, TrainParams(exclusive=True))
    scores = softmax(vectors @ weights.T + bias)
    assert (scores.argmax(axis=1) == labels.argmax(axis=1)).all()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)
    assert metrics.accuracy == 1.0


def test_a_concept_every_example_has_always_scores_high() -> None:
    vectors, labels = _clusters()
    labels[:, 0] = 1  # every input is a cat too
    weights, bias, _ = fit(vectors, labels, CONCEPTS)
    assert not weights[0].any() and bias[0] == 6.0


def test_the_artifact_keeps_the_heads_and_the_softmax_flag(tmp_path: Path) -> None:
    vectors, labels = _clusters()
    weights, bias, _ = fit(vectors, labels, CONCEPTS, TrainParams(exclusive=True))
    path = tmp_path / "heads.npz"
    save_artifact(path, weights, bias, exclusive=True)
    with np.load(path) as saved:
        np.testing.assert_array_equal(saved["weights"], weights)
        np.testing.assert_array_equal(saved["bias"], bias)
        assert saved["softmax"][0] == 1
