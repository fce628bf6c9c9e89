"""The model types Clarion serves, as GetModelType reports them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelType:
    id: str
    title: str
    description: str
    input_fields: tuple[str, ...]
    output_fields: tuple[str, ...]
    trainable: bool = False


MODEL_TYPES: dict[str, ModelType] = {
    t.id: t
    for t in (
        ModelType(
            id="text-embedder",
            title="Text Embedder",
            description="Embed text into a vector representing its meaning.",
            input_fields=("text",),
            output_fields=("embeddings",),
        ),
        ModelType(
            id="text-to-text",
            title="Text to Text",
            description="Generate text from a prompt (chat LLMs).",
            input_fields=("text",),
            output_fields=("text",),
        ),
        ModelType(
            id="embedding-classifier",
            title="Embedding Classifier",
            description="Learn your own concepts from labelled inputs, on a base embedder.",
            input_fields=("text", "image"),
            output_fields=("concepts",),
            trainable=True,
        ),
        ModelType(
            id="visual-classifier",
            title="Visual Classifier",
            description="Recognize the concepts in an image.",
            input_fields=("image",),
            output_fields=("concepts",),
        ),
        ModelType(
            id="visual-embedder",
            title="Visual Embedder",
            description="Embed an image into a vector representing its visual content.",
            input_fields=("image",),
            output_fields=("embeddings",),
        ),
    )
}
