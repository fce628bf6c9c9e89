"""Sentence embeddings from a BERT-style ONNX encoder (all-MiniLM-L6-v2 int8).

Texts are tokenized (truncated to ``max_length`` tokens), sorted by length and cut into
chunks of ``chunk_size`` so that each chunk pads only to its own longest text; the encoder's
last hidden state is mean-pooled over the attention mask and L2-normalised. Outputs come
back in the caller's order.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from clarion.config import Settings
from clarion.domain.values import Input, Output
from clarion.runtime.runner import Runner

FloatArray = npt.NDArray[np.float32]


def mean_pool(hidden: FloatArray, mask: npt.NDArray[np.int64]) -> FloatArray:
    """Average the token vectors where ``mask`` is 1, then L2-normalise each row."""
    weights = mask[..., None].astype(np.float32)
    summed = (hidden * weights).sum(axis=1)
    counts = np.clip(weights.sum(axis=1), 1e-9, None)
    pooled = summed / counts
    norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
    normalised: FloatArray = (pooled / norms).astype(np.float32)
    return normalised


class TextEmbeddingRunner(Runner[None]):
    """Embeds text inputs into L2-normalised vectors."""

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        max_length: int = 256,
        chunk_size: int = 32,
        intra_op_threads: int = 0,
    ) -> None:
        self._model_path = model_path
        self._tokenizer_path = tokenizer_path
        self._max_length = max_length
        self._chunk_size = chunk_size
        self._intra_op_threads = intra_op_threads
        self._session: ort.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None
        self._input_names: set[str] = set()

    @classmethod
    def from_spec(cls, spec: dict[str, Any], settings: Settings) -> TextEmbeddingRunner:
        return cls(
            Path(spec["model_path"]),
            Path(spec["tokenizer_path"]),
            max_length=int(spec.get("max_length", 256)),
        )

    def load(self) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._intra_op_threads
        self._session = ort.InferenceSession(
            str(self._model_path), options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(self._max_length)
        self._tokenizer = tokenizer

    def embed(self, texts: Sequence[str]) -> FloatArray:
        """Embeddings for ``texts``, one row each, in order."""
        return self._embed(texts)[0]

    def _embed(self, texts: Sequence[str]) -> tuple[FloatArray, list[int]]:
        """Embeddings and the number of tokens each text was read as."""
        if self._session is None or self._tokenizer is None:
            raise RuntimeError("load() must be called before embed()")
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        dims = self._session.get_outputs()[0].shape[-1]
        result = np.empty((len(texts), dims), dtype=np.float32)
        for start in range(0, len(order), self._chunk_size):
            chunk = order[start : start + self._chunk_size]
            width = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), width), dtype=np.int64)
            mask = np.zeros((len(chunk), width), dtype=np.int64)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            (hidden,) = self._session.run(None, feeds)
            result[chunk] = mean_pool(hidden, mask)
        return result, [len(e.ids) for e in encodings]

    def predict(self, inputs: Sequence[Input], params: None = None) -> list[Output]:
        vectors, counts = self._embed([i.text for i in inputs])
        return [Output(embedding=v, prompt_tokens=n) for v, n in zip(vectors, counts, strict=True)]

    def memory_bytes(self) -> int:
        return int(self._model_path.stat().st_size * 2)

    def close(self) -> None:
        self._session = None
        self._tokenizer = None
