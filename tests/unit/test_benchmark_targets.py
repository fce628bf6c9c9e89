"""The suite's target checks: bounds, strict bounds, reported-only and absent figures."""

from __future__ import annotations

from pathlib import Path

from benchmarks.targets import TARGETS, Target, Verdict, check, report, summary


def test_at_least_is_met_at_the_bound_and_missed_below_it() -> None:
    target = Target("rate", "r", at_least=1.3)
    assert target.judge({"r": 1.3}) is Verdict.MET
    assert target.judge({"r": 1.31}) is Verdict.MET
    assert target.judge({"r": 1.29}) is Verdict.MISSED


def test_a_strict_bound_is_missed_at_the_bound() -> None:
    target = Target("lower p99", "p", at_least=1.0, strictly=True)
    assert target.judge({"p": 1.0}) is Verdict.MISSED
    assert target.judge({"p": 1.01}) is Verdict.MET
    assert target.bound == "> 1x"


def test_at_most_bounds_a_time() -> None:
    target = Target("start", "s", at_most=5.0, unit=" s")
    assert target.judge({"s": 3.1}) is Verdict.MET
    assert target.judge({"s": 5.0}) is Verdict.MET
    assert target.judge({"s": 5.2}) is Verdict.MISSED
    assert target.bound == "<= 5 s"


def test_a_figure_without_a_bound_is_only_reported() -> None:
    assert Target("rss", "m", unit=" MiB").judge({"m": 900.0}) is Verdict.REPORTED


def test_an_absent_or_nan_figure_is_not_measured_never_met() -> None:
    target = Target("rate", "r", at_least=1.0)
    assert target.judge({}) is Verdict.NOT_MEASURED
    assert target.judge({"r": float("nan")}) is Verdict.NOT_MEASURED


def test_the_suite_targets_cover_the_issue_bounds() -> None:
    by_figure = {t.figure: t for t in TARGETS}
    assert by_figure["peer.singles.rate_ratio"].at_least == 1.3
    assert by_figure["peer.batch.rate_ratio"].at_least == 1.15
    assert by_figure["peer.singles.p50_ratio"].strictly
    assert by_figure["peer.singles.p99_ratio"].strictly
    for path in ("openai", "grpc"):
        for n in (1, 4, 8):
            assert by_figure[f"chat.{path}.tps_ratio.{n}"].at_least == 1.0
            assert by_figure[f"chat.{path}.ttft_ratio.{n}"].at_least == 1.0
    assert by_figure["embeddings.rest_over_grpc"].at_least == 0.95
    assert by_figure["images.rest_over_grpc"].at_least == 0.95
    assert by_figure["images.grpc_over_in_process"].at_least == 0.95
    assert by_figure["startup.ready_s"].at_most == 5.0
    rss = by_figure["startup.rss_mib"]
    assert rss.at_least is None and rss.at_most is None


def test_check_and_summary_count_each_verdict(tmp_path: Path) -> None:
    figures = {"peer.batch.rate_ratio": 1.2, "peer.singles.rate_ratio": 1.0, "startup.rss_mib": 800}
    rows = check(figures)
    verdicts = {row[0]: row[3] for row in rows}
    assert verdicts["128-sentence requests, emb/s vs Infinity"] == "met"
    assert verdicts["64 concurrent single sentences, emb/s vs Infinity"] == "MISSED"
    assert verdicts["RSS with every built-in loaded"] == "reported"
    assert summary(rows) == f"1 met, 1 missed, {len(TARGETS) - 3} not measured"
    assert [row[1] for row in rows if row[0].startswith("128-sentence requests")] == ["1.20x"]
    table = report(figures, tmp_path)
    assert "| 128-sentence requests, emb/s vs Infinity | 1.20x | >= 1.15x | met |" in table
    assert (tmp_path / "targets.md").read_text() == table
