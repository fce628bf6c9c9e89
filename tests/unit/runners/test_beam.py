"""Beam search on a hand-made distribution where greedy decoding is not the best sequence."""

from __future__ import annotations

import math
from collections.abc import Sequence

from clarion.runners.beam import beam_search

END = 0
# After the prefix (a tuple of tokens), the next-token probabilities.
TABLE: dict[tuple[int, ...], dict[int, float]] = {
    (): {1: 0.6, 2: 0.4},
    (1,): {3: 0.35, 4: 0.35, 5: 0.3},
    (2,): {6: 0.9, 7: 0.1},
    (1, 3): {END: 1.0},
    (1, 4): {END: 1.0},
    (1, 5): {END: 1.0},
    (2, 6): {END: 1.0},
    (2, 7): {END: 1.0},
}


def next_logprobs(prefixes: Sequence[tuple[int, ...]]) -> list[list[tuple[int, float]]]:
    return [[(t, math.log(p)) for t, p in TABLE[prefix].items()] for prefix in prefixes]


def test_one_beam_is_greedy() -> None:
    best = beam_search(next_logprobs, num_beams=1, max_tokens=5, end_ids=frozenset({END}))
    assert best.tokens == (1, 3, END) and best.finished
    assert best.text_tokens == (1, 3)


def test_two_beams_find_the_more_probable_sequence() -> None:
    greedy = beam_search(next_logprobs, num_beams=1, max_tokens=5, end_ids=frozenset({END}))
    best = beam_search(next_logprobs, num_beams=2, max_tokens=5, end_ids=frozenset({END}))
    assert best.tokens == (2, 6, END)
    assert best.logprob > greedy.logprob
    assert math.isclose(best.logprob, math.log(0.4 * 0.9))


def test_max_tokens_bounds_unfinished_hypotheses() -> None:
    best = beam_search(next_logprobs, num_beams=2, max_tokens=1, end_ids=frozenset({END}))
    assert best.tokens == (1,) and not best.finished
