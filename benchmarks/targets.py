"""The performance targets, checked against the figures of one run of the suite.

Each benchmark may record named figures in a shared :data:`Figures` dict (ratios are
Clarion's side over the reference, so that higher is better; a latency is compared as
reference latency over Clarion's). :func:`check` judges each target; a target whose figure
was not measured in this run (a benchmark left out) is reported as such, never as met.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from benchmarks.common import RESULTS_DIR, write_table

Figures = dict[str, float]

CHAT_LEVELS = (1, 4, 8)


class Verdict(Enum):
    MET = "met"
    MISSED = "MISSED"
    REPORTED = "reported"
    NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Target:
    """``figure`` must be at least ``at_least`` / at most ``at_most`` (or only reported)."""

    name: str
    figure: str
    at_least: float | None = None
    at_most: float | None = None
    unit: str = "x"
    #: ``at_least`` is exclusive: the figure must exceed it.
    strictly: bool = False

    def judge(self, figures: Figures) -> Verdict:
        value = figures.get(self.figure)
        if value is None or value != value:  # absent or NaN
            return Verdict.NOT_MEASURED
        if self.at_least is None and self.at_most is None:
            return Verdict.REPORTED
        if self.at_least is not None and (
            value < self.at_least or (self.strictly and value == self.at_least)
        ):
            return Verdict.MISSED
        if self.at_most is not None and value > self.at_most:
            return Verdict.MISSED
        return Verdict.MET

    @property
    def bound(self) -> str:
        if self.at_least is not None:
            return f"{'>' if self.strictly else '>='} {self.at_least:g}{self.unit}"
        if self.at_most is not None:
            return f"<= {self.at_most:g}{self.unit}"
        return "reported"


def _chat_targets() -> list[Target]:
    targets = []
    for path, label in (("openai", "OpenAI chat stream"), ("grpc", "Clarifai gRPC stream")):
        for n in CHAT_LEVELS:
            rate = Target(
                f"{label}, {n} streams, tokens/s vs llama.cpp server",
                f"chat.{path}.tps_ratio.{n}",
                at_least=1.0,
            )
            ttft = Target(
                f"{label}, {n} streams, TTFT p50 (llama.cpp / Clarion)",
                f"chat.{path}.ttft_ratio.{n}",
                at_least=1.0,
            )
            targets += [rate, ttft]
    return targets


#: Lower latency than the peer means a peer/Clarion latency ratio above 1.
TARGETS: tuple[Target, ...] = (
    Target("64 concurrent single sentences, emb/s vs Infinity", "peer.singles.rate_ratio",
           at_least=1.3),
    Target("64 concurrent single sentences, p50 lower than Infinity (Infinity / Clarion)",
           "peer.singles.p50_ratio", at_least=1.0, strictly=True),
    Target("64 concurrent single sentences, p99 lower than Infinity (Infinity / Clarion)",
           "peer.singles.p99_ratio", at_least=1.0, strictly=True),
    Target("128-sentence requests, emb/s vs Infinity", "peer.batch.rate_ratio", at_least=1.15),
    *_chat_targets(),
    Target("128-sentence embedding request, Clarifai REST vs gRPC",
           "embeddings.rest_over_grpc", at_least=0.95),
    Target("32-image request, Clarifai REST vs gRPC", "images.rest_over_grpc", at_least=0.95),
    Target("32-image request, server (gRPC) vs in-process", "images.grpc_over_in_process",
           at_least=0.95),
    Target("cold start to ready, every built-in preloaded", "startup.ready_s", at_most=5.0,
           unit=" s"),
    Target("RSS with every built-in loaded", "startup.rss_mib", unit=" MiB"),
)  # fmt: skip


def _value(target: Target, figures: Figures) -> str:
    value = figures.get(target.figure)
    if value is None or value != value:
        return "-"
    return f"{value:.2f}{target.unit}" if target.unit == "x" else f"{value:.1f}{target.unit}"


def check(figures: Figures, targets: tuple[Target, ...] = TARGETS) -> list[list[str]]:
    """One row per target: name, measured value, bound, verdict."""
    return [[t.name, _value(t, figures), t.bound, t.judge(figures).value] for t in targets]


def summary(rows: list[list[str]]) -> str:
    met = sum(row[3] == Verdict.MET.value for row in rows)
    missed = sum(row[3] == Verdict.MISSED.value for row in rows)
    absent = sum(row[3] == Verdict.NOT_MEASURED.value for row in rows)
    return f"{met} met, {missed} missed, {absent} not measured"


def report(figures: Figures, results_dir: Path = RESULTS_DIR) -> str:
    """The targets table of one run, printed and saved as ``targets.md``."""
    rows = check(figures)
    return write_table(
        "targets",
        f"Targets in this run: {summary(rows)}",
        ["target", "measured", "bound", "verdict"],
        rows,
        results_dir,
    )
