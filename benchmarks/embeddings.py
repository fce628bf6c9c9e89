"""A 128-sentence embedding batch through the server (gRPC and REST) vs its runner in-process.

python -m benchmarks.embeddings [--repeats N] [--batch N]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import httpx
import orjson
from clarifai_grpc.grpc.api import resources_pb2

from benchmarks.common import (
    RESULTS_DIR,
    paired_median_seconds,
    sentences,
    served_runners,
    write_table,
)
from benchmarks.targets import Figures
from clarion.client import Model
from clarion.config import Settings
from clarion.runners import TextEmbeddingRunner
from clarion.server_thread import ServerThread


def run(
    repeats: int = 5,
    batch: int = 128,
    results_dir: Path = RESULTS_DIR,
    figures: Figures | None = None,
) -> str:
    texts = sentences(batch)
    settings = Settings.from_env(
        {"CLARION_HOME": tempfile.mkdtemp(prefix="clarion-bench-")}, grpc_port=0, rest_port=0
    )
    inputs = [
        resources_pb2.Input(id=str(i), data=resources_pb2.Data(text=resources_pb2.Text(raw=t)))
        for i, t in enumerate(texts)
    ]
    # Encoded once, as the gRPC inputs are built once: the client's encoding is not the server's.
    body = orjson.dumps(
        {"inputs": [{"id": str(i), "data": {"text": {"raw": t}}} for i, t in enumerate(texts)]}
    )
    with ServerThread(settings) as server:
        path = "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs"
        with (
            Model(model_id="all-minilm-l6-v2", pat=server.pat, base_url=server.grpc_url) as model,
            httpx.Client(base_url=server.rest_url, timeout=60) as rest,
        ):
            model.predict(inputs)  # loads the model
            (runner,) = [r for r in served_runners(server) if isinstance(r, TextEmbeddingRunner)]
            headers = {"Authorization": f"Key {server.pat}", "Content-Type": "application/json"}
            # In-process calls the server's own runner; the three paths take turns.
            in_process, over_grpc, over_rest = paired_median_seconds(
                [
                    lambda: runner.embed(texts),
                    lambda: model.predict(inputs),
                    lambda: rest.post(path, content=body, headers=headers).raise_for_status(),
                ],
                repeats,
            )

    if figures is not None:
        figures["embeddings.rest_over_grpc"] = over_grpc / over_rest

    def row(name: str, seconds: float) -> list[str]:
        return [name, f"{batch / seconds:.0f}", f"{in_process / seconds:.2f}"]

    return write_table(
        "embeddings",
        f"all-MiniLM-L6-v2 int8, one {batch}-sentence request",
        ["path", "embeddings/s", "ratio to in-process"],
        [
            row("in-process runner", in_process),
            row("server, gRPC", over_grpc),
            row("server, REST", over_rest),
        ],
        results_dir,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    run(args.repeats, args.batch)


if __name__ == "__main__":
    main()
