"""Beam search, independent of the engine that scores the next token.

Hypotheses are ranked by total log-probability (no length normalisation). At each step every
live beam is expanded with its ``expand`` best next tokens; the ``num_beams`` best
continuations stay live, and those that end with an end-of-turn token are finished. The search
stops when the best finished hypothesis scores at least the best live one (log-probabilities
only fall, so no live beam can overtake it), when no live beam is left, or after
``max_tokens`` steps.

    best = beam_search(next_logprobs, num_beams=4, max_tokens=64, end_ids={2})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

#: Given the token continuations so far (one per live beam), each beam's best next tokens as
#: (token id, log-probability) pairs.
NextLogprobs = Callable[[Sequence[tuple[int, ...]]], list[list[tuple[int, float]]]]


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[int, ...]
    logprob: float
    finished: bool = False

    @property
    def text_tokens(self) -> tuple[int, ...]:
        """The tokens without the end-of-turn token that finished the hypothesis."""
        return self.tokens[:-1] if self.finished else self.tokens


def beam_search(
    next_logprobs: NextLogprobs, num_beams: int, max_tokens: int, end_ids: frozenset[int]
) -> Hypothesis:
    if num_beams < 1 or max_tokens < 1:
        raise ValueError("num_beams and max_tokens must be at least 1")
    live = [Hypothesis((), 0.0)]
    finished: list[Hypothesis] = []
    for _ in range(max_tokens):
        expansions = next_logprobs([h.tokens for h in live])
        candidates = sorted(
            (
                Hypothesis((*h.tokens, token), h.logprob + logprob, token in end_ids)
                for h, options in zip(live, expansions, strict=True)
                for token, logprob in options
            ),
            key=lambda h: h.logprob,
            reverse=True,
        )
        live = []
        for candidate in candidates[: 2 * num_beams]:
            if candidate.finished:
                finished.append(candidate)
            elif len(live) < num_beams:
                live.append(candidate)
        best_finished = max((h.logprob for h in finished), default=float("-inf"))
        if not live or best_finished >= live[0].logprob:
            break
    return max(finished + live, key=lambda h: h.logprob)
