"""What the Ray benchmarks share: the cluster's memory on this host, and a clean slate.

The benchmarks expect a cluster of their own: applications outlive the front ends that
asked for them, so each benchmark deletes every Serve application before and after it runs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

#: Run in a child process, so this one never joins the cluster (a Ray driver keeps
#: background threads and would count in the figures).
_DELETE = """
import sys, logging, ray
from ray import serve
ray.init(address=sys.argv[1], namespace="clarion", logging_level=logging.ERROR)
for name in serve.status().applications:
    serve.delete(name)
"""


def delete_applications(ray_address: str) -> None:
    """Delete every Serve application on the cluster at ``ray_address``."""
    subprocess.run([sys.executable, "-c", _DELETE, ray_address], check=True, timeout=300)


def ray_rss_bytes() -> int:
    """The resident memory of every Ray process on this host (GCS, raylets, agents, Serve's
    controller and replicas, idle workers)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            status = (proc / "status").read_text()
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if command.startswith("ray::") or "/site-packages/ray/" in command:
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def arguments(description: str | None) -> argparse.Namespace:
    """The command line both Ray benchmarks take."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--ray-address", required=True)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()
