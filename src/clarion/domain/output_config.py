"""The output config of classifiers: ``max_concepts``, ``min_value`` and ``select_concepts``.

    config = OutputConfig(max_concepts=3, min_value=0.1)
    selection = config.select(vocabulary)          # raises when nothing selected exists
    concepts = config.apply(scores, vocabulary, selection)

Rules: without ``select_concepts`` the top ``max_concepts`` (default 20) concepts whose value
is at least ``min_value`` are returned, best first. With ``select_concepts`` (matched exactly,
by id, or by name when no id is given) only those are returned, whatever their value, best
first; ``min_value`` still filters them and ``max_concepts`` caps them only when given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from clarion.domain.values import Concept
from clarion.errors import InvalidParameter

DEFAULT_MAX_CONCEPTS = 20
MAX_CONCEPTS_LIMIT = 200


@dataclass(frozen=True)
class ConceptRef:
    """One ``select_concepts`` entry: an exact id, or an exact name when the id is empty."""

    id: str = ""
    name: str = ""

    @property
    def label(self) -> str:
        return self.id or self.name


@dataclass(frozen=True)
class Selection:
    """Which vocabulary positions a request selected, and which entries matched nothing."""

    indices: tuple[int, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True)
class OutputConfig:
    """Validated output config; 0 for ``max_concepts`` means "not given"."""

    max_concepts: int = 0
    min_value: float = 0.0
    select_concepts: tuple[ConceptRef, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.max_concepts <= MAX_CONCEPTS_LIMIT:
            raise InvalidParameter(
                f"max_concepts must be between 1 and {MAX_CONCEPTS_LIMIT}, "
                f"got {self.max_concepts}.",
                parameter="max_concepts",
                value=self.max_concepts,
            )
        if not (0.0 <= self.min_value <= 1.0):  # also refuses NaN
            raise InvalidParameter(
                f"min_value must be within [0, 1], got {self.min_value:g}.",
                parameter="min_value",
                value=self.min_value,
            )
        for ref in self.select_concepts:
            if not ref.label:
                raise InvalidParameter(
                    "each select_concepts entry needs an id or a name, got an empty one.",
                    parameter="select_concepts",
                )

    def select(self, vocabulary: Sequence[Concept], model_id: str) -> Selection | None:
        """Resolve ``select_concepts`` against the model's concepts (None when not given)."""
        if not self.select_concepts:
            return None
        by_id = {c.id: i for i, c in enumerate(vocabulary)}
        by_name = {c.name: i for i, c in enumerate(vocabulary)}
        indices: list[int] = []
        unknown: list[str] = []
        for ref in self.select_concepts:
            index = by_id.get(ref.id) if ref.id else by_name.get(ref.name)
            if index is None:
                unknown.append(ref.label)
            elif index not in indices:
                indices.append(index)
        if not indices:
            raise InvalidParameter(
                f"None of the selected concepts exist in model {model_id}: "
                f"{', '.join(repr(u) for u in unknown)}. Concept ids and names are exact and "
                "case-sensitive; GetModelOutputInfo lists them.",
                parameter="select_concepts",
                value=unknown,
            )
        return Selection(tuple(indices), tuple(unknown))

    def apply(
        self,
        scores: npt.NDArray[np.float32],
        vocabulary: Sequence[Concept],
        selection: Selection | None,
    ) -> tuple[Concept, ...]:
        """The concepts to return for one input's scores, best first."""
        if selection is not None:
            candidates = np.array(selection.indices, dtype=np.int64)
            limit = self.max_concepts or len(candidates)
        else:
            candidates = np.arange(len(scores))
            limit = self.max_concepts or DEFAULT_MAX_CONCEPTS
        values = scores[candidates]
        keep = values >= self.min_value
        candidates, values = candidates[keep], values[keep]
        order = np.argsort(-values, kind="stable")[:limit]
        return tuple(
            Concept(id=vocabulary[i].id, name=vocabulary[i].name, value=float(v))
            for i, v in zip(candidates[order], values[order], strict=True)
        )
