"""Text-generation parameters: one validated object from ``output_info.params``.

Wire values arrive in a protobuf Struct, where every number is a double and some clients
send numbers or booleans as strings; :meth:`GenerationParams.parse` accepts those forms and
rejects everything else with a message of the form ``"top_p must be in (0, 1], got 1.5."``.

    params = GenerationParams.parse({"max_tokens": 100.0, "temperature": "0.2"})
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from clarion.errors import InvalidParameter

MAX_TOKENS_LIMIT = 4096
MAX_BEAMS = 8
MAX_STOP_SEQUENCES = 8
MAX_PROMPT_PARAM_CHARS = 32_768
MAX_TOP_LOGPROBS = 20


class ReasoningEffort(StrEnum):
    """How much the model thinks before answering (see the README for the budgets)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def _fail(name: str, constraint: str, value: Any) -> InvalidParameter:
    return InvalidParameter(
        f"{name} must be {constraint}, got {value!r}.", parameter=name, value=value
    )


def reasoning_effort(value: object) -> ReasoningEffort:
    """The effort a wire value names (any case), or :class:`InvalidParameter`."""
    try:
        return ReasoningEffort(str(value).strip().lower())
    except ValueError:
        raise _fail("reasoning_effort", "one of low, medium, high", value) from None


def stop_sequences(value: object) -> tuple[str, ...]:
    """Stop sequences from one string or a list of them, or :class:`InvalidParameter`."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(s, str) and s for s in items):
        raise _fail("stop", "a non-empty string or a list of them", value)
    return tuple(items)


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise _fail(name, "a number", value)
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise _fail(name, "a number", value) from None
    if not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail(name, "a finite number", value)
    return float(value)


def _integer(name: str, value: Any) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise _fail(name, "an integer", value)
    return int(number)


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _fail(name, "true or false", value)


def _text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _fail(name, "a string", value)
    if len(value) > MAX_PROMPT_PARAM_CHARS:
        raise _fail(
            name, f"at most {MAX_PROMPT_PARAM_CHARS} characters", f"{len(value)} characters"
        )
    return value


@dataclass(frozen=True)
class GenerationParams:
    """Sampling and prompting settings for one generation request.

    ``do_sample`` false means greedy decoding (identical output on every call); ``num_beams``
    above 1 means deterministic beam search ranked by total log-probability; ``top_k`` 0 and
    ``top_p`` 1 switch those filters off. ``prompt_template`` replaces the model's chat
    template: every ``{prompt}`` becomes the input text and ``{system_prompt}`` the system
    prompt, and the result is sent as raw text. ``reasoning_effort`` adds a bounded reasoning
    pass before the answer (medium and high).
    """

    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    seed: int | None = None
    stop: tuple[str, ...] = ()
    do_sample: bool = True
    num_beams: int = 1
    return_full_text: bool = False
    system_prompt: str = ""
    prompt_template: str = ""
    reasoning_effort: ReasoningEffort = ReasoningEffort.LOW
    #: Constrain the answer to JSON matching this JSON Schema ({} = any JSON object).
    json_schema: dict[str, Any] | None = None
    #: Return each generated token's log-probability, with ``top_logprobs`` alternatives.
    logprobs: bool = False
    top_logprobs: int = 0

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str, str, Any]] = [
            (1 <= self.max_tokens <= MAX_TOKENS_LIMIT, "max_tokens",
             f"between 1 and {MAX_TOKENS_LIMIT}", self.max_tokens),
            (0.0 <= self.temperature <= 2.0, "temperature", "in [0, 2]", self.temperature),
            (0.0 < self.top_p <= 1.0, "top_p", "in (0, 1]", self.top_p),
            (0 <= self.top_k < 2**31, "top_k", "in [0, 2**31) (0 turns it off)", self.top_k),
            (self.seed is None or 0 <= self.seed < 2**32, "seed", "in [0, 2**32)", self.seed),
            (1 <= self.num_beams <= MAX_BEAMS, "num_beams", f"between 1 and {MAX_BEAMS}",
             self.num_beams),
            (not self.prompt_template or "{prompt}" in self.prompt_template, "prompt_template",
             "a template containing the placeholder {prompt}", self.prompt_template),
            (0 <= self.top_logprobs <= MAX_TOP_LOGPROBS, "top_logprobs",
             f"between 0 and {MAX_TOP_LOGPROBS}", self.top_logprobs),
            (self.num_beams == 1 or self.json_schema is None, "json_schema",
             "left out when num_beams is above 1", "a schema"),
        ]  # fmt: skip
        for ok, name, constraint, value in checks:
            if not ok:
                raise _fail(name, constraint, value)
        if len(self.stop) > MAX_STOP_SEQUENCES:
            count = f"{len(self.stop)} sequences"
            raise _fail("stop", f"at most {MAX_STOP_SEQUENCES} sequences", count)

    def overrides(self) -> tuple[str, ...]:
        """The names of the fields set to something other than their default."""
        defaults = GenerationParams()
        return tuple(
            f.name for f in fields(self) if getattr(self, f.name) != getattr(defaults, f.name)
        )

    @property
    def greedy(self) -> bool:
        return not self.do_sample or self.temperature == 0.0 or self.top_k == 1

    @classmethod
    def accepted(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def parse(cls, raw: Mapping[str, Any] | None) -> GenerationParams:
        """Validated params from wire values; unknown names are refused with the accepted list."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - set(_PARSERS))
        if unknown:
            raise InvalidParameter(
                f"Unknown inference parameter(s): {', '.join(unknown)}. "
                f"Accepted: {', '.join(cls.accepted())}.",
                parameter=unknown[0],
            )
        values = {name: _PARSERS[name](name, value) for name, value in raw.items()}
        if values.get("num_beams", 1) > 1 and values.get("do_sample") is True:
            raise InvalidParameter(
                "num_beams > 1 is deterministic beam search; set do_sample to false "
                "(or leave it out) when num_beams is above 1.",
                parameter="do_sample",
                value=True,
            )
        if values.get("num_beams", 1) > 1:
            values["do_sample"] = False
        return cls(**values)


def _schema(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail(name, "a JSON Schema object", value)
    return value


def _seed(name: str, value: Any) -> int | None:
    return None if value is None else _integer(name, value)


_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "max_tokens": _integer,
    "temperature": _number,
    "top_p": _number,
    "top_k": _integer,
    "seed": _seed,
    "stop": lambda _name, value: stop_sequences(value),
    "do_sample": _boolean,
    "num_beams": _integer,
    "return_full_text": _boolean,
    "system_prompt": _text,
    "prompt_template": _text,
    "reasoning_effort": lambda _name, value: reasoning_effort(value),
    "json_schema": _schema,
    "logprobs": _boolean,
    "top_logprobs": _integer,
}
