"""A 32-image recognition batch through the server (gRPC and REST) vs its runner in-process.

    python -m benchmarks.images [--repeats N] [--batch N]

Needs the prepared ONNX export (``clarion models prepare``; ``CLARION_MODELS_DIR`` says where).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import tempfile
from pathlib import Path

import httpx
import orjson
from clarifai_grpc.grpc.api import resources_pb2
from PIL import Image

from benchmarks.common import RESULTS_DIR, paired_median_seconds, served_runners, write_table
from benchmarks.targets import Figures
from clarion.client import Model
from clarion.config import Settings
from clarion.images import decode_image
from clarion.runners import ImageRunner
from clarion.server_thread import ServerThread


def photos(count: int) -> list[bytes]:
    """``count`` JPEG photos from scikit-image's offline samples, in turn."""
    from skimage import data

    arrays = [data.chelsea(), data.coffee(), data.rocket(), data.astronaut()]
    encoded = []
    for array in arrays:
        buffer = io.BytesIO()
        Image.fromarray(array).convert("RGB").save(buffer, format="JPEG", quality=90)
        encoded.append(buffer.getvalue())
    return [encoded[i % len(encoded)] for i in range(count)]


def run(
    repeats: int = 5,
    batch: int = 32,
    results_dir: Path = RESULTS_DIR,
    figures: Figures | None = None,
) -> str:
    images = photos(batch)
    models_dir = os.environ.get("CLARION_MODELS_DIR")
    settings = Settings.from_env(
        {"CLARION_HOME": tempfile.mkdtemp(prefix="clarion-bench-")},
        grpc_port=0,
        rest_port=0,
        models_path=Path(models_dir) if models_dir else Path.home() / ".clarion" / "models",
    )
    inputs = [
        resources_pb2.Input(id=str(i), data=resources_pb2.Data(image=resources_pb2.Image(base64=b)))
        for i, b in enumerate(images)
    ]
    # The REST body is encoded once, as the gRPC inputs are built once: the client's own
    # JSON encoding (10 ms for these 2.4 MB in the stdlib) is not the server's work.
    body = orjson.dumps(
        {
            "inputs": [
                {"id": str(i), "data": {"image": {"base64": base64.b64encode(b).decode()}}}
                for i, b in enumerate(images)
            ]
        }
    )
    path = "/v2/users/clarion/apps/main/models/general-image-recognition/outputs"
    with (
        ServerThread(settings) as server,
        Model(model_id="general-image-recognition", pat=server.pat, base_url=server.grpc_url) as m,
        httpx.Client(base_url=server.rest_url, timeout=60) as rest,
    ):
        m.predict(inputs)  # loads the model
        (runner,) = [
            r
            for r in served_runners(server)
            if isinstance(r, ImageRunner) and r.output == "probabilities"
        ]
        headers = {"Authorization": f"Key {server.pat}", "Content-Type": "application/json"}
        # In-process does the same work as the server, on the server's own runner (its
        # session, weights and threads): decode the JPEGs one by one, then classify. The
        # three paths take turns, so drift over the run weighs on each alike.
        in_process, over_grpc, over_rest = paired_median_seconds(
            [
                lambda: runner.run([decode_image(b, settings.max_image_pixels) for b in images]),
                lambda: m.predict(inputs),
                lambda: rest.post(path, content=body, headers=headers).raise_for_status(),
            ],
            repeats,
        )
    if figures is not None:
        figures["images.grpc_over_in_process"] = in_process / over_grpc
        figures["images.rest_over_grpc"] = over_grpc / over_rest

    def row(name: str, seconds: float) -> list[str]:
        return [name, f"{batch / seconds:.0f}", f"{in_process / seconds:.2f}"]

    return write_table(
        "images",
        f"EfficientNet-Lite0 image recognition, one {batch}-image request (JPEG decode included)",
        ["path", "images/s", "ratio to in-process"],
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
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    run(args.repeats, args.batch)


if __name__ == "__main__":
    main()
