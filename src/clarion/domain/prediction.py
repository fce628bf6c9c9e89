"""The answer to one predict request."""

from __future__ import annotations

from dataclasses import dataclass, field

from clarion.domain.models import Model, ModelVersion
from clarion.domain.values import InputResult
from clarion.errors import StatusCode


@dataclass(frozen=True)
class Prediction:
    """The answer to one predict request: one result per input, in request order."""

    model: Model
    version: ModelVersion
    results: tuple[InputResult, ...] = field(default_factory=tuple)
    #: select_concepts entries that matched no concept of the model (answered MIXED_STATUS).
    unknown_concepts: tuple[str, ...] = ()

    @property
    def status(self) -> StatusCode:
        """SUCCESS when every input succeeded, FAILURE when none did, else MIXED_STATUS.

        Unknown selected concepts make an otherwise successful answer MIXED_STATUS.
        """
        failed = sum(1 for r in self.results if r.output.error is not None)
        if failed == 0:
            return StatusCode.MIXED_STATUS if self.unknown_concepts else StatusCode.SUCCESS
        if failed == len(self.results):
            return StatusCode.FAILURE
        return StatusCode.MIXED_STATUS
