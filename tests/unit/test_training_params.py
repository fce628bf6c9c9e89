"""The trainable parameters: what the SDK's YAML sends back is read, anything else refused."""

from __future__ import annotations

import numpy as np
import pytest

from clarion.domain.values import Concept
from clarion.errors import InvalidParameter
from clarion.training import fit
from clarion.training_params import TRAIN_FIELDS, TrainParams, parse


def test_defaults_and_the_sdk_round_trip() -> None:
    assert parse({}) == TrainParams()
    sdk_yaml = {name: field.default for name, field in TRAIN_FIELDS.items()}
    sdk_yaml["max_iter"] = 1000.0  # a protobuf Struct carries every number as a double
    params = parse(sdk_yaml, {"concepts_mutually_exclusive": False}, exclusive=False)
    assert params.max_iter == 1000 and isinstance(params.max_iter, int)
    assert params.class_weight == "balanced" and params.base_model == ""
    assert params.hyperparameters() == {"C": 10.0, "max_iter": 1000, "class_weight": "balanced"}


def test_either_copy_of_the_exclusive_flag_counts() -> None:
    assert parse({}, exclusive=True).exclusive
    assert parse({}, {"concepts_mutually_exclusive": True}).exclusive
    assert not parse({}, {"concepts_mutually_exclusive": False}).exclusive


@pytest.mark.parametrize(
    ("params", "inference", "message"),
    [
        ({"learning_rate": 0.1}, {}, "Unknown train_info.params: learning_rate"),
        ({"epochs": 3, "zeta": 1}, {}, "epochs, zeta"),
        ({}, {"temperature": 1}, "Unknown output_info.params: temperature"),
        ({"C": 0}, {}, "C must be between"),
        ({"C": "strong"}, {}, "C must be a number"),
        ({"C": True}, {}, "C must be a number"),
        ({"max_iter": 2.5}, {}, "max_iter must be a whole number"),
        ({"max_iter": 10**6}, {}, "max_iter must be between 1 and 10000"),
        ({"class_weight": "heavy"}, {}, "class_weight must be one of balanced, none"),
        ({"base_model": "gpt"}, {}, "base_model must be one of"),
        ({"dataset_id": 3}, {}, "dataset_id must be a string"),
        ({}, {"concepts_mutually_exclusive": "yes"}, "must be true or false"),
    ],
)
def test_bad_values_are_refused_by_name(
    params: dict[str, object], inference: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidParameter) as info:
        parse(params, inference)
    assert info.value.code == 21202 and message in info.value.details


def test_exclusive_heads_are_one_softmax_and_independent_heads_are_not() -> None:
    rng = np.random.default_rng(0)
    centers = np.eye(3, 8, dtype=np.float32) * 4
    vectors = np.concatenate([c + rng.normal(size=(10, 8)) for c in centers]).astype(np.float32)
    labels = np.repeat(np.eye(3, dtype=np.int8), 10, axis=0)
    concepts = tuple(Concept(c, c) for c in "abc")
    weights, bias, metrics = fit(vectors, labels, concepts, TrainParams(exclusive=True))
    logits = vectors @ weights.T + bias
    assert (logits.argmax(axis=1) == labels.argmax(axis=1)).mean() > 0.9
    assert metrics.accuracy > 0.8 and set(metrics.per_concept) == {"a", "b", "c"}
    weights_2, _, _ = fit(vectors, labels, concepts, TrainParams(class_weight="none"))
    assert weights_2.shape == weights.shape and not np.allclose(weights_2, weights)
