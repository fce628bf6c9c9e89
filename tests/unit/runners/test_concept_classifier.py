"""A trained concept model in two parts: the head (embeddings -> scores) and the runner that
puts it behind its own base embedder; a cluster's shared heads use the same head."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from clarion.domain.values import Input, InputKind, Output
from clarion.errors import PredictionFailed, StatusCode
from clarion.runners.concept_classifier import ConceptClassifierRunner, ConceptHead
from clarion.runtime.runner import HeadOnBase, Runner
from clarion.training import save_artifact

WEIGHTS = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]], dtype=np.float32)
BIAS = np.array([0.1, -0.2], dtype=np.float32)


class _Letters(Runner[None]):
    """Embeds a text as its first three letters' positions in the alphabet, scaled."""

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        return [
            Output(embedding=np.array([(ord(c) - 96) / 26 for c in i.text[:3]], np.float32))
            for i in inputs
        ]


def _texts(*texts: str) -> list[Input]:
    return [Input(t, InputKind.TEXT, text=t) for t in texts]


@pytest.mark.parametrize("exclusive", [False, True])
def test_the_head_scores_embeddings_with_sigmoids_or_one_softmax(
    tmp_path: Path, exclusive: bool
) -> None:
    path = tmp_path / "head.npz"
    save_artifact(path, WEIGHTS, BIAS, exclusive)
    head = ConceptHead.read(path)
    assert head.softmax is exclusive
    vectors = np.array([[0.2, 0.4, 0.6], [1.0, 0.0, 0.5]], dtype=np.float32)
    scores = np.stack(
        [
            o.scores
            for o in head.apply([Output(embedding=v) for v in vectors])
            if o.scores is not None
        ]
    )
    logits = vectors @ WEIGHTS.T + BIAS
    expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True) if exclusive else (
        1 / (1 + np.exp(-logits))
    )  # fmt: skip
    assert scores.dtype == np.float32
    np.testing.assert_allclose(scores, expected, rtol=1e-6)


def test_the_runner_is_its_head_behind_its_base(tmp_path: Path) -> None:
    path = tmp_path / "head.npz"
    save_artifact(path, WEIGHTS, BIAS)
    runner = ConceptClassifierRunner(_Letters(), path)
    assert isinstance(runner, HeadOnBase)  # a cluster serves its head apart from the base
    runner.load()
    inputs = _texts("cab", "zoo", "fig")
    direct = runner.read_head().apply(_Letters().predict(inputs))
    for mine, theirs in zip(runner.predict(inputs), direct, strict=True):
        assert mine.scores is not None and theirs.scores is not None
        np.testing.assert_array_equal(mine.scores, theirs.scores)


def test_a_missing_artefact_is_21313_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.npz"
    runner = ConceptClassifierRunner(_Letters(), path)
    for load in (runner.read_head, runner.load):
        with pytest.raises(PredictionFailed) as failed:
            load()
        assert failed.value.code == StatusCode.MODEL_PREDICTION_FAILED
        assert str(path) in str(failed.value)
