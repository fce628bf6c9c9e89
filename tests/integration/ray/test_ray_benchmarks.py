"""The Ray benchmarks run once at a tiny size on the test cluster, so they cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks import ray_hop, ray_scaling

from tests.integration.ray.conftest import RayCluster

pytestmark = pytest.mark.slow


def test_the_hop_benchmark_compares_one_process_and_ray(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    table = ray_hop.run(ray_cluster.address, rounds=1, repeats=1, results_dir=tmp_path)
    assert "Ray backend" in table and (tmp_path / "ray_hop.md").read_text() == table


def test_the_scaling_benchmark_runs_two_replicas_on_two_nodes(
    tmp_path: Path, ray_cluster: RayCluster
) -> None:
    # The test cluster has 1 CPU per node: MiniLM's two replicas take both, so no other
    # model is deployed for the memory figure.
    table = ray_scaling.run(
        ray_cluster.address, rounds=1, repeats=1, models={}, results_dir=tmp_path
    )
    two = next(line for line in table.splitlines() if line.startswith("| 2 replicas"))
    assert len(set(two.split("|")[2].strip().split(", "))) == 2, table  # two distinct nodes
    assert "memory: idle cluster" in table
