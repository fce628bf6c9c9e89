"""Output config rules on plain scores (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from clarion.domain.output_config import ConceptRef, OutputConfig
from clarion.domain.values import Concept
from clarion.errors import InvalidParameter, StatusCode

VOCAB = [Concept(id=f"id{i}", name=f"Name {i}") for i in range(300)]
SCORES = np.linspace(0.0, 0.299, 300, dtype=np.float32)[::-1].copy()  # id0 best, id299 worst


def _ids(config: OutputConfig, scores: np.ndarray = SCORES) -> list[str]:
    selection = config.select(VOCAB, "m")
    return [c.id for c in config.apply(scores, VOCAB, selection)]


def test_default_is_top_20_best_first() -> None:
    assert _ids(OutputConfig()) == [f"id{i}" for i in range(20)]


@pytest.mark.parametrize("n", [1, 3, 200])
def test_max_concepts(n: int) -> None:
    assert _ids(OutputConfig(max_concepts=n)) == [f"id{i}" for i in range(n)]


@pytest.mark.parametrize("n", [201, 10_000])
def test_max_concepts_out_of_range(n: int) -> None:
    with pytest.raises(InvalidParameter) as info:
        OutputConfig(max_concepts=n)
    assert info.value.code == StatusCode.MODEL_INVALID_ARGUMENT
    assert "between 1 and 200" in info.value.details and str(n) in info.value.details


def test_min_value_filters_and_still_caps_at_20() -> None:
    assert _ids(OutputConfig(min_value=0.29)) == [f"id{i}" for i in range(10)]
    assert len(_ids(OutputConfig(min_value=0.01))) == 20
    assert len(_ids(OutputConfig(min_value=0.01, max_concepts=200))) == 200


@pytest.mark.parametrize("value", [-0.1, 1.5, float("nan")])
def test_min_value_out_of_range(value: float) -> None:
    with pytest.raises(InvalidParameter, match=r"within \[0, 1\]"):
        OutputConfig(min_value=value)


def test_select_by_id_and_name_returns_only_those_even_tiny() -> None:
    config = OutputConfig(select_concepts=(ConceptRef(id="id299"), ConceptRef(name="Name 250")))
    concepts = config.apply(SCORES, VOCAB, config.select(VOCAB, "m"))
    assert [c.id for c in concepts] == ["id250", "id299"]  # best first
    assert concepts[1].value == pytest.approx(0.0)


def test_select_is_exact_and_case_sensitive() -> None:
    with pytest.raises(InvalidParameter) as info:
        OutputConfig(select_concepts=(ConceptRef(name="name 1"), ConceptRef(id="ID1"))).select(
            VOCAB, "m"
        )
    assert "'name 1'" in info.value.details and "'ID1'" in info.value.details


def test_select_some_unknown_reports_them() -> None:
    config = OutputConfig(select_concepts=(ConceptRef(id="id5"), ConceptRef(id="nope")))
    selection = config.select(VOCAB, "m")
    assert selection is not None and selection.unknown == ("nope",)
    assert [c.id for c in config.apply(SCORES, VOCAB, selection)] == ["id5"]


def test_select_with_min_value_and_max_concepts() -> None:
    refs = tuple(ConceptRef(id=f"id{i}") for i in (0, 1, 2, 280))
    assert _ids(OutputConfig(select_concepts=refs, min_value=0.2)) == ["id0", "id1", "id2"]
    assert _ids(OutputConfig(select_concepts=refs, max_concepts=2)) == ["id0", "id1"]
    many = tuple(ConceptRef(id=f"id{i}") for i in range(30))
    assert len(_ids(OutputConfig(select_concepts=many))) == 30  # not capped by the default


def test_empty_select_entry_is_refused() -> None:
    with pytest.raises(InvalidParameter, match="id or a name"):
        OutputConfig(select_concepts=(ConceptRef(),))
