"""Runner families, one module each; :data:`RUNNER_FACTORIES` maps a family name to its factory."""

from clarion.runners.concept_classifier import ConceptClassifierRunner
from clarion.runners.image import ImageRunner
from clarion.runners.llm import LlmRunner
from clarion.runners.text_embedding import TextEmbeddingRunner
from clarion.runtime.runner import RunnerFactory

RUNNER_FACTORIES: dict[str, RunnerFactory] = {
    "text-embedding-onnx": TextEmbeddingRunner.from_spec,
    "image-onnx": ImageRunner.from_spec,
    "llm-llamacpp": LlmRunner.from_spec,
    "embedding-classifier": ConceptClassifierRunner.from_spec,
}

__all__ = ["RUNNER_FACTORIES", "ImageRunner", "LlmRunner", "TextEmbeddingRunner"]
