"""Image recognition and image embeddings from one ONNX network (EfficientNet-Lite0).

Each image is resized so its short side is ``resize_short_side`` pixels and centre-cropped to
``crop`` x ``crop`` (in one resize of the crop's region) in parallel threads; then each chunk
of ``CLARION_IMAGE_BATCH_SIZE`` is scaled to [-1, 1] in one pass and goes through
onnxruntime. The ``output`` spec
entry picks the graph output: ``probabilities`` (a softmax, returned as scores for the output
config) or ``features`` (returned L2-normalised as the embedding). With a
``general_concepts_path`` table, each class-probability row is followed by one value per
broader concept: the sum of its leaves' probabilities.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from PIL import Image

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.runtime.runner import Runner

FloatArray = npt.NDArray[np.float32]
UInt8Array = npt.NDArray[np.uint8]


def preprocess(image: Image.Image, short_side: int, crop: int) -> UInt8Array:
    """The ``crop`` x ``crop`` centre of ``image`` resized to a short side of ``short_side``,
    as an HWC uint8 array.

    Only the crop's region is resized (``box``): the same source pixels and filter as
    resizing the whole image and cutting the centre out, at 224 x 224 output pixels instead
    of 256 x (the long side); values can differ by one grey level from rounding.
    """
    width, height = image.size
    scale = short_side / min(width, height)
    size = (max(crop, round(width * scale)), max(crop, round(height * scale)))
    step_x, step_y = width / size[0], height / size[1]
    left, top = (size[0] - crop) // 2, (size[1] - crop) // 2
    box = (left * step_x, top * step_y, (left + crop) * step_x, (top + crop) * step_y)
    cropped = image.resize((crop, crop), Image.Resampling.BILINEAR, box=box)
    return np.asarray(cropped, dtype=np.uint8)


def to_network_input(arrays: Sequence[UInt8Array]) -> FloatArray:
    """A float32 NCHW batch in [-1, 1] from HWC uint8 arrays, scaled in one pass."""
    batch: FloatArray = np.stack(arrays).transpose(0, 3, 1, 2).astype(np.float32)
    np.divide(batch, 127.5, out=batch)
    np.subtract(batch, 1.0, out=batch)
    return batch


def membership(table: Path) -> FloatArray:
    """The (classes, concepts) 0/1 matrix of a broader-concepts table."""
    data = json.loads(table.read_text(encoding="utf-8"))
    matrix = np.zeros((len(data["classes"]), len(data["concepts"])), dtype=np.float32)
    for column, concept in enumerate(data["concepts"]):
        matrix[concept["leaves"], column] = 1.0
    return matrix


class ImageRunner(Runner[None]):
    """Classifies or embeds image inputs."""

    def __init__(
        self,
        model_path: Path,
        output: str,
        *,
        short_side: int = 256,
        crop: int = 224,
        chunk_size: int = 32,
        general_concepts: Path | None = None,
    ) -> None:
        if output not in ("probabilities", "features"):
            raise ValueError(f"output must be 'probabilities' or 'features', got {output!r}")
        self._model_path = model_path
        self._output = output
        self._short_side = short_side
        self._crop = crop
        self._chunk_size = max(1, chunk_size)
        #: A batch larger than one onnxruntime chunk would run as chunks anyway, so the
        #: batcher closes a batch as soon as it holds a chunk, without waiting for company.
        self.max_batch_size = self._chunk_size
        self._general_concepts = general_concepts
        #: (classes, broader concepts) 0/1 matrix: probabilities @ it = the broader values.
        self._membership: FloatArray | None = None
        self._session: ort.InferenceSession | None = None
        self._pool: ThreadPoolExecutor | None = None

    @classmethod
    def from_spec(cls, spec: dict[str, Any], settings: Settings) -> ImageRunner:
        return cls(
            Path(spec["model_path"]),
            str(spec["output"]),
            short_side=int(spec.get("resize_short_side", 256)),
            crop=int(spec.get("crop", 224)),
            chunk_size=settings.image_batch_size,
            general_concepts=(
                Path(spec["general_concepts_path"]) if "general_concepts_path" in spec else None
            ),
        )

    @property
    def output(self) -> str:
        """The graph output it returns: ``probabilities`` or ``features``."""
        return self._output

    def load(self) -> None:
        self._session = ort.InferenceSession(
            str(self._model_path), providers=["CPUExecutionProvider"]
        )
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="clarion-preprocess")
        if self._general_concepts is not None:
            self._membership = membership(self._general_concepts)

    def run(self, images: Sequence[Image.Image]) -> FloatArray:
        """The chosen graph output for ``images``, one row each."""
        if self._session is None or self._pool is None:
            raise RuntimeError("load() must be called before run()")
        arrays = list(
            self._pool.map(lambda im: preprocess(im, self._short_side, self._crop), images)
        )
        rows = []
        for start in range(0, len(arrays), self._chunk_size):
            batch = to_network_input(arrays[start : start + self._chunk_size])
            (result,) = self._session.run([self._output], {"images": batch})
            rows.append(result)
        stacked: FloatArray = np.concatenate(rows).astype(np.float32)
        return stacked

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        rows = self.run([i.image for i in inputs])
        if self._output == "probabilities":
            if self._membership is not None:
                broader = np.minimum(rows @ self._membership, 1.0)  # float rounding
                rows = np.concatenate([rows, broader], axis=1)
            return [Output(scores=row) for row in rows]
        norms = np.clip(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12, None)
        return [Output(embedding=row) for row in (rows / norms).astype(np.float32)]

    def memory_bytes(self) -> int:
        return int(self._model_path.stat().st_size * 3)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        self._session = None
        self._pool = None
