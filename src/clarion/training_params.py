"""What a training of an ``embedding-classifier`` can be told, and how a request's values are read.

One table, :data:`FIELDS`, is both what ``ListModelTypes`` reports (the ``model_type_fields``
the official SDK turns into its ``params.yaml``) and what ``PostModelVersions`` accepts:
a name under ``train_info.params`` that is not in it is refused by name.

    params = parse({"C": 4, "dataset_id": "news"}, inference={}, exclusive=True)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clarion.errors import InvalidParameter

BASE_MODEL_OPTIONS = ("all-minilm-l6-v2", "general-image-embedding")
CLASS_WEIGHTS = ("balanced", "none")
MAX_ITER_LIMIT = 10_000


@dataclass(frozen=True)
class Field:
    """One trainable parameter: where it lives in a ``ModelVersion`` and what it takes."""

    path: str
    kind: str  # "number" | "integer" | "string" | "enum" | "boolean" | "concepts" | ...
    default: Any
    description: str
    options: tuple[tuple[str, str], ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    required: bool = False

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


FIELDS: tuple[Field, ...] = (
    Field(
        "train_info.params.dataset_id", "dataset_id", "",
        "The dataset to train on; empty: every labelled input of the app.",
    ),
    Field(
        "train_info.params.dataset_version_id", "dataset_version_id", "",
        "A frozen version of that dataset to train on; empty with a dataset_id: the "
        "dataset's inputs now.",
    ),
    Field(
        "train_info.params.base_model", "enum", "",
        "The embedder the heads are trained on; empty: chosen by the inputs' kind.",
        options=(
            ("all-minilm-l6-v2", "Text: sentence embeddings (384 dimensions)."),
            ("general-image-embedding", "Images: EfficientNet-B0 features (1280 dimensions)."),
        ),
    ),
    Field(
        "train_info.params.C", "number", 10.0,
        "Inverse regularization strength of the logistic regression (smaller: simpler model).",
        minimum=1e-6, maximum=1e6,
    ),
    Field(
        "train_info.params.max_iter", "integer", 1000,
        "Most solver iterations per fit.", minimum=1, maximum=MAX_ITER_LIMIT,
    ),
    Field(
        "train_info.params.class_weight", "enum", "balanced",
        "How examples are weighted: balanced (by inverse concept frequency) or none.",
        options=(
            ("balanced", "Weight examples by inverse concept frequency."),
            ("none", "Every example weighs the same."),
        ),
    ),
    Field(
        "output_info.data", "concepts", [],
        "The concepts the model learns; each needs positive examples.", required=True,
    ),
    Field(
        "output_info.output_config.concepts_mutually_exclusive", "boolean", False,
        "True: one softmax over the concepts (scores sum to 1, each input has exactly one "
        "positive concept); false: an independent yes/no head per concept.",
    ),
)  # fmt: skip

TRAIN_FIELDS = {f.name: f for f in FIELDS if f.path.startswith("train_info.params.")}
#: Names the official SDK copies into ``output_info.params`` (its ``inference_params``).
INFERENCE_FIELDS = {"concepts_mutually_exclusive"}


@dataclass(frozen=True)
class TrainParams:
    """A training request's parameters, checked."""

    dataset_id: str = ""
    dataset_version_id: str = ""
    base_model: str = ""
    C: float = 10.0
    max_iter: int = 1000
    class_weight: str = "balanced"
    exclusive: bool = False
    description: str = ""

    def hyperparameters(self) -> dict[str, Any]:
        """The scikit-learn arguments of each head."""
        return {
            "C": self.C,
            "max_iter": self.max_iter,
            "class_weight": None if self.class_weight == "none" else self.class_weight,
        }


def parse(
    params: dict[str, Any], inference: dict[str, Any] | None = None, exclusive: bool = False
) -> TrainParams:
    """Check ``train_info.params`` (and the SDK's ``output_info.params``) against :data:`FIELDS`.

    ``exclusive`` is ``output_info.output_config.concepts_mutually_exclusive``; the same flag
    in ``output_info.params`` also counts, so editing either copy in the SDK's YAML works.
    """
    values = dict(params)
    description = values.pop("description", "")
    if not isinstance(description, str):
        raise InvalidParameter("description must be a string.", parameter="description")
    unknown = sorted(set(values) - set(TRAIN_FIELDS))
    if unknown:
        raise InvalidParameter(
            f"Unknown train_info.params: {', '.join(unknown)}; embedding-classifier takes "
            f"{', '.join(TRAIN_FIELDS)}.",
            parameter=unknown[0],
        )
    inference = dict(inference or {})
    unknown = sorted(set(inference) - INFERENCE_FIELDS)
    if unknown:
        raise InvalidParameter(
            f"Unknown output_info.params: {', '.join(unknown)}; embedding-classifier takes "
            f"{', '.join(sorted(INFERENCE_FIELDS))}.",
            parameter=unknown[0],
        )
    checked = {name: _check(TRAIN_FIELDS[name], value) for name, value in values.items()}
    flag = inference.get("concepts_mutually_exclusive", False)
    if not isinstance(flag, bool):
        raise InvalidParameter(
            f"concepts_mutually_exclusive must be true or false, got {flag!r}.",
            parameter="concepts_mutually_exclusive",
        )
    return TrainParams(**checked, exclusive=exclusive or flag, description=description)


def _check(spec: Field, value: Any) -> Any:
    name = spec.name
    if spec.kind in ("number", "integer"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidParameter(f"{name} must be a number, got {value!r}.", parameter=name)
        if spec.kind == "integer":
            if value != int(value):
                raise InvalidParameter(f"{name} must be a whole number, got {value!r}.",
                                       parameter=name)  # fmt: skip
            value = int(value)
        assert spec.minimum is not None and spec.maximum is not None
        if not spec.minimum <= value <= spec.maximum:
            raise InvalidParameter(
                f"{name} must be between {spec.minimum:g} and {spec.maximum:g}, got {value!r}.",
                parameter=name,
            )
        return float(value) if spec.kind == "number" else value
    if not isinstance(value, str):
        raise InvalidParameter(f"{name} must be a string, got {value!r}.", parameter=name)
    allowed = [option for option, _ in spec.options]
    if spec.kind == "enum" and value and value not in allowed:
        raise InvalidParameter(
            f"{name} must be one of {', '.join(allowed)}, got {value!r}.", parameter=name
        )
    if spec.kind == "enum" and not value and spec.default:
        return spec.default
    return value
