"""Run the whole benchmark suite: ``python -m benchmarks [--quick] [--skip-peer]``.

Each benchmark prints its markdown table and saves it under ``benchmarks/results/``; the
tables are also collected in ``benchmarks/results/summary.md``. Every figure is measured side
by side in one run on this machine (medians over repeats).
"""

from __future__ import annotations

import argparse

from benchmarks import batching, embeddings, images, llm, peer, protocol
from benchmarks.common import RESULTS_DIR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier)")
    parser.add_argument("--skip-peer", action="store_true", help="leave out the Infinity peer")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    tables = [
        embeddings.run(repeats=repeats),
        images.run(repeats=repeats),
        llm.run(repeats=max(1, repeats // 3)),
        batching.run(repeats=max(1, repeats // 2)),
        protocol.run(),
    ]
    if not args.skip_peer:
        tables.append(peer.run(repeats=max(1, repeats // 2)))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "summary.md").write_text("\n".join(tables))


if __name__ == "__main__":
    main()
