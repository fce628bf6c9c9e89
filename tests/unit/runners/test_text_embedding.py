"""The MiniLM runner on its real int8 weights, checked against an independent float reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from clarion.catalog import BUILTIN_MODELS
from clarion.config import Settings
from clarion.domain.values import Input, InputKind
from clarion.runners import TextEmbeddingRunner

pytestmark = pytest.mark.slow

MINILM = next(m for m in BUILTIN_MODELS if m.model_id == "all-minilm-l6-v2")
SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The new movie is awesome and everyone loved it.",
    "The stock market fell sharply on Monday.",
    "Quantum computers use qubits.",
]


@pytest.fixture(scope="module")
def spec() -> dict[str, object]:
    return MINILM.spec(Settings())


@pytest.fixture(scope="module")
def runner(spec: dict[str, object]) -> TextEmbeddingRunner:
    r = TextEmbeddingRunner.from_spec(spec, Settings())
    r.load()
    return r


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    normed: np.ndarray = (x - mean) / np.sqrt(var + 1e-12) * w + b
    return normed


_erf = np.vectorize(math.erf)


def float_reference(text: str, weights: dict[str, np.ndarray], tokenizer: Tokenizer) -> np.ndarray:
    """The float32 BERT forward pass, written from the architecture, mean-pooled and normalised."""
    ids = np.array(tokenizer.encode(text).ids)
    x = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][: len(ids)]
        + weights["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
    heads, dim = 12, 32
    for layer in range(6):
        p = f"encoder.layer.{layer}."

        def dense(h: np.ndarray, name: str, p: str = p) -> np.ndarray:
            out: np.ndarray = h @ weights[p + name + ".weight"].T + weights[p + name + ".bias"]
            return out

        q, k, v = (
            dense(x, f"attention.self.{n}").reshape(len(ids), heads, dim).transpose(1, 0, 2)
            for n in ("query", "key", "value")
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dim)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        attn = (scores / scores.sum(-1, keepdims=True)) @ v
        attn = attn.transpose(1, 0, 2).reshape(len(ids), heads * dim)
        x = _layer_norm(
            x + dense(attn, "attention.output.dense"),
            weights[p + "attention.output.LayerNorm.weight"],
            weights[p + "attention.output.LayerNorm.bias"],
        )
        h = dense(x, "intermediate.dense")
        h = 0.5 * h * (1 + _erf(h / math.sqrt(2)))
        x = _layer_norm(
            x + dense(h, "output.dense"),
            weights[p + "output.LayerNorm.weight"],
            weights[p + "output.LayerNorm.bias"],
        )
    pooled = x.mean(0)
    unit: np.ndarray = pooled / np.linalg.norm(pooled)
    return unit


def test_vectors_are_384_dimensional_and_unit_length(runner: TextEmbeddingRunner) -> None:
    vectors = runner.embed(SENTENCES)
    assert vectors.shape == (len(SENTENCES), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_related_sentences_score_higher_than_unrelated(runner: TextEmbeddingRunner) -> None:
    v = runner.embed(SENTENCES)
    related = float(v[0] @ v[1])
    for unrelated in (2, 3, 4):
        assert related > float(v[0] @ v[unrelated]) + 0.2


def test_int8_vectors_match_the_float_model(
    runner: TextEmbeddingRunner, spec: dict[str, object]
) -> None:
    model_dir = Path(str(spec["tokenizer_path"])).parent
    weights = load_file(str(model_dir / "model.safetensors"))
    tokenizer = Tokenizer.from_file(str(spec["tokenizer_path"]))
    tokenizer.no_padding()  # the file pads to 128; the reference attends to real tokens only
    int8 = runner.embed(SENTENCES)
    for text, vector in zip(SENTENCES, int8, strict=True):
        reference = float_reference(text, weights, tokenizer)
        assert float(vector @ reference) >= 0.99, text


def test_batching_and_length_sorting_keep_order_and_values(runner: TextEmbeddingRunner) -> None:
    texts = [("word " * n).strip() for n in (40, 3, 17, 1, 90, 8)] * 7  # 42: two chunks
    batch = runner.embed(texts)
    singles = np.stack([runner.embed([t])[0] for t in texts[:6]])
    np.testing.assert_allclose(batch[:6], singles, atol=1e-4)
    np.testing.assert_allclose(batch[6:12], singles, atol=1e-4)


def test_long_text_is_truncated_not_rejected(runner: TextEmbeddingRunner) -> None:
    outputs = runner.predict([Input("long", InputKind.TEXT, "token " * 5000)])
    assert outputs[0].embedding is not None and outputs[0].embedding.shape == (384,)
