"""The stream harness's turns: every round starts with the next target, three rounds at least."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from benchmarks import streams


def _target(name: str, calls: list[str]) -> streams.Connector:
    def connect() -> tuple[streams.Stream, Callable[[], None]]:
        def stream(_prompt: str) -> Iterator[str | int]:
            calls.append(name)
            yield "piece"
            yield 1

        return stream, lambda: None

    return connect


def test_each_round_starts_with_the_next_target_and_a_level_has_three_rounds() -> None:
    calls: list[str] = []
    targets = {name: _target(name, calls) for name in ("a", "b", "c")}
    loads = streams.measure(targets, ["p"], levels=(8,), repeats=1, min_streams=1)
    rounds = [calls[i : i + 24] for i in range(0, len(calls), 24)]
    assert len(rounds) == 1 + streams.MIN_ROUNDS  # a warm-up round, then the measured ones
    firsts = [r[0] for r in rounds]
    assert firsts == ["a", "b", "c", "a"]
    assert all(sorted(set(r)) == ["a", "b", "c"] and len(r) == 24 for r in rounds)
    assert set(loads) == {"a", "b", "c"} and all(
        load[8].tokens_per_s > 0 for load in loads.values()
    )
