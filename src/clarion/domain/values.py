"""Plain typed values that flow between the adapters, the service and the runners."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from clarion.errors import ClarionError


class InputKind(StrEnum):
    """What a model consumes or an input carries."""

    TEXT = "text"
    IMAGE = "image"


@dataclass(frozen=True)
class ChatMessage:
    """One turn of a conversation: ``role`` is system, user or assistant."""

    role: str
    content: str


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token with its log-probability and the most likely alternatives."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class RawInput:
    """An input as it arrived on the wire, before any decoding or download.

    Exactly one of the four payload fields is expected to be set; the decoder says so
    when that is not the case.
    """

    id: str = ""
    text: str | None = None
    text_url: str = ""
    image_bytes: bytes = b""
    image_url: str = ""
    #: A whole conversation for a chat model (the OpenAI API's ``messages``).
    messages: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True)
class Input:
    """A decoded input, ready for a runner."""

    id: str
    kind: InputKind
    text: str = ""
    #: A decoded RGB ``PIL.Image.Image`` (EXIF orientation applied) for image inputs.
    image: Any = None
    #: A conversation for a chat model; when set, ``text`` is its last user turn.
    messages: tuple[ChatMessage, ...] = ()


@dataclass(frozen=True)
class Concept:
    """A concept: an entry of a model's or an app's vocabulary, a label on an input (``value``
    1 or 0), or a score in an output (``value`` in [0, 1])."""

    id: str
    name: str
    value: float = 0.0


@dataclass(frozen=True)
class Output:
    """What a runner produced for one input, or why it could not."""

    embedding: npt.NDArray[np.float32] | None = None
    #: A classifier's raw scores, one per concept of the version, before the output config.
    scores: npt.NDArray[np.float32] | None = None
    concepts: tuple[Concept, ...] = ()
    text: str | None = None
    error: ClarionError | None = None
    #: Text generation only: token counts, the answer's total log-probability (when the
    #: engine reports it), why generation ended, and a reasoning pass kept apart.
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprob: float | None = None
    finish_reason: str = ""
    reasoning: str | None = None
    reasoning_tokens: int = 0
    #: Per-token log-probabilities, when the request asked for them.
    tokens: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class InputResult:
    """One input's id with its output, in request order."""

    input_id: str
    output: Output
