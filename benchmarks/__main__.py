"""Run the whole benchmark suite: ``python -m benchmarks [--quick] [--skip-peer]``.

Each benchmark prints its markdown table and saves it under ``benchmarks/results/``; the
tables are also collected in ``benchmarks/results/summary.md``, followed by the targets
(``benchmarks.targets``): each target's measured ratio and whether this run met it. Every
figure is measured side by side in one run on this machine (medians over repeats).
``--skip-peer`` leaves out Infinity (a multi-GB environment), not llama.cpp's server.
"""

from __future__ import annotations

import argparse

from benchmarks import batching, embeddings, images, llm, peer, protocol, startup, targets
from benchmarks.common import RESULTS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    parser.add_argument("--skip-peer", action="store_true", help="leave out the Infinity peer")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    figures: targets.Figures = {}
    tables = [
        embeddings.run(repeats=repeats, figures=figures),
        images.run(repeats=repeats, figures=figures),
        llm.run(repeats=max(1, repeats // 3)),
        llm.run_peer(repeats=max(1, repeats // 3), figures=figures),
        batching.run(repeats=max(1, repeats // 2)),
        protocol.run(),
        startup.run(repeats=max(1, repeats // 2), figures=figures),
    ]
    if not args.skip_peer:
        tables.append(peer.run(repeats=max(1, repeats // 2), figures=figures))
    tables.append(targets.report(figures))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "summary.md").write_text("\n".join(tables))


if __name__ == "__main__":
    main()
