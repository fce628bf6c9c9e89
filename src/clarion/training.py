"""Training custom concept models: every training makes a new, immutable model version.

``PostModelVersions`` snapshots the labelled inputs (a dataset version's frozen ones, a
dataset's, or the app's), checks them (no inputs: 21110, a concept without positive
examples: 21111; refused before anything is created), creates the version (queued) and
trains it in the background:

    queued (21103) -> training (21101) -> trained (21100) | failed (21106, with the reason)

The inputs are embedded with the base model (a text or image embedder, chosen by the inputs'
kind or the ``base_model`` param); then one softmax over the concepts is fitted when they are
mutually exclusive, else one logistic-regression head per concept (scikit-learn), and
held-out metrics come from stratified cross-validation. The artefact is written once,
atomically, under ``<files dir>/artifacts/<version_id>.npz`` (``CLARION_FILES_DIR``, else
the home); the version's spec pins it and the base model version, so a trained version never
changes. Each training records the server that runs it, so that another server starting on
the same registry leaves it alone while that server's heartbeat is fresh.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from clarion.atomic import PARTIAL_SUFFIX, changed_at, write_atomically
from clarion.auth import PUBLIC_USER
from clarion.catalog import PUBLIC_APP
from clarion.config import MAX_BATCH_INPUTS, Settings
from clarion.domain.models import ConceptMetrics, Model, ModelVersion, TrainingMetrics
from clarion.domain.values import Concept, Input, InputKind
from clarion.domain.workspace import StoredInput
from clarion.errors import ClarionError, InvalidParameter, StatusCode, TrainingRefused
from clarion.images import decode_image
from clarion.registry import Registry
from clarion.runtime import Backend, Deployment
from clarion.training_params import TrainParams

log = logging.getLogger(__name__)

BASE_MODELS = {InputKind.TEXT: "all-minilm-l6-v2", InputKind.IMAGE: "general-image-embedding"}
UNFINISHED = (StatusCode.MODEL_QUEUED_FOR_TRAINING, StatusCode.MODEL_TRAINING)


@dataclass(frozen=True)
class Snapshot:
    """The labelled inputs a version is trained on, fixed when training is asked for."""

    inputs: tuple[StoredInput, ...]
    concepts: tuple[Concept, ...]
    kind: InputKind


class Trainer:
    """Starts trainings and runs them as background tasks of the serving process."""

    def __init__(
        self, registry: Registry, backend: Backend, settings: Settings, instance_id: str
    ) -> None:
        """``instance_id``: the server that runs the trainings started here."""
        self._registry = registry
        self._backend = backend
        self._settings = settings
        self._instance_id = instance_id
        self._artifacts = settings.files_dir / "artifacts"
        self._tasks: set[asyncio.Task[None]] = set()

    def recover(self, stale_before: datetime, keep_changed_since: float = float("inf")) -> None:
        """After a stop or a crash: versions left queued or training by this server, by no
        server, or by one whose heartbeat is older than ``stale_before`` are marked failed
        (21106, saying why), and artefact files that no trained version owns (an unfinished
        write, a training cut short, a delete whose file removal did not happen) are
        removed, except files changed at or after ``keep_changed_since`` (a time in seconds
        since the epoch: another live server may be writing them)."""
        codes = [int(c) for c in UNFINISHED]
        for version_id in self._registry.orphaned_trainings(codes, self._instance_id, stale_before):
            self._registry.set_training(
                version_id,
                StatusCode.MODEL_TRAINING_FAILED,
                "Training was interrupted by a server restart; train the model again.",
            )
        if not self._artifacts.is_dir():
            return
        owned = {
            version_id
            for version_id in self._registry.version_ids()
            if (state := self._registry.training(version_id)) is not None and state.ready
        }
        for path in self._artifacts.iterdir():
            if changed_at(path) >= keep_changed_since:
                continue
            if path.suffix == PARTIAL_SUFFIX or path.stem not in owned:
                log.info("removing %s: no trained version owns it", path.name)
                path.unlink(missing_ok=True)

    def artifact_path(self, version_id: str) -> Path:
        return self._artifacts / f"{version_id}.npz"

    def start(
        self, model: Model, params: TrainParams, concept_ids: Sequence[str] = ()
    ) -> ModelVersion:
        """Create a queued version of ``model`` and train it in the background.

        ``concept_ids`` are the concepts to learn (the model's own when empty); the inputs
        are the dataset version's, the dataset's or the app's labelled ones (``params``).
        Whatever is wrong with the request is refused before anything is created.
        """
        concepts = self._concepts(model, concept_ids)
        wanted = {c.id for c in concepts}
        inputs = tuple(i for i in self._source(model, params) if wanted & set(i.concepts))
        if params.exclusive:
            inputs = self._exclusive_inputs(inputs, concepts)
        kinds = {i.kind for i in inputs}
        if len(kinds) > 1:
            raise InvalidParameter(
                "The labelled inputs mix text and images; a model learns from one kind.",
                parameter="inputs",
            )
        kind = kinds.pop() if kinds else InputKind.TEXT
        snapshot = Snapshot(inputs, concepts, kind)
        self._check(snapshot)
        base_id = params.base_model or BASE_MODELS[kind]
        base_model = self._registry.get_model(PUBLIC_USER, PUBLIC_APP, base_id)
        base = self._registry.get_version(base_model) if base_model else None
        if base_model is None or base is None or base_model.model_type_id not in (
            "text-embedder", "visual-embedder",
        ):  # fmt: skip
            raise InvalidParameter(
                f"base_model must be an installed embedder ({', '.join(BASE_MODELS.values())}), "
                f"got {base_id!r}.",
                parameter="base_model",
            )
        if BASE_MODELS[kind] != base_id and base_id in BASE_MODELS.values():
            raise InvalidParameter(
                f"base_model {base_id} does not embed {kind.value} inputs; use "
                f"{BASE_MODELS[kind]}.",
                parameter="base_model",
            )
        version_id = uuid.uuid4().hex
        spec = {
            "base_model": base_id,
            "base_version_id": base.id,
            "artifact_path": str(self.artifact_path(version_id)),
            "kind": kind.value,
        }
        info = {
            "inputs": [i.input_id for i in inputs],
            "concepts": [c.id for c in concepts],
            "base_model": base_id,
            "base_version_id": base.id,
            "hyperparameters": params.hyperparameters(),
            "concepts_mutually_exclusive": params.exclusive,
            "dataset_id": params.dataset_id,
            "dataset_version_id": params.dataset_version_id,
        }
        version = self._registry.ensure_version(
            model, version_id, runner="embedding-classifier", spec=spec, concepts=concepts,
            description=params.description,
            training=(StatusCode.MODEL_QUEUED_FOR_TRAINING, "Queued for training", info),
            training_owner=self._instance_id, base=base,
        )  # fmt: skip
        task = asyncio.get_running_loop().create_task(
            self._train(version, Deployment.of(base_model, base), snapshot, params, info)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return version

    def _concepts(self, model: Model, concept_ids: Sequence[str]) -> tuple[Concept, ...]:
        configured = self._registry.model_concepts(model)
        ids = list(dict.fromkeys(concept_ids)) or [c.id for c in configured]
        if not ids:
            raise TrainingRefused(
                "The model has no concepts; name them in output_info.data.concepts.",
                code=StatusCode.MODEL_TRAINING_NO_DATA,
            )
        known = {
            c.id: c for c in self._registry.list_concepts(model.user_id, model.app_id, ids=ids)
        }
        unknown = [c for c in ids if c not in known]
        if unknown and concept_ids:
            raise InvalidParameter(
                f"These concepts are not in the app {model.user_id}/{model.app_id}: "
                f"{', '.join(unknown)}; add them with PostConcepts or label inputs with them.",
                parameter="concepts",
            )
        named = {c.id: c.name for c in configured}
        return tuple(known[c] if c in known else Concept(c, named.get(c, c)) for c in ids)

    def _source(self, model: Model, params: TrainParams) -> tuple[StoredInput, ...]:
        user_id, app_id = model.user_id, model.app_id
        if params.dataset_version_id:
            version = self._registry.get_dataset_version(user_id, app_id, params.dataset_version_id)
            if version is None or (params.dataset_id and version.dataset_id != params.dataset_id):
                within = f"dataset {params.dataset_id} of " if params.dataset_id else ""
                raise InvalidParameter(
                    f"Dataset version {params.dataset_version_id!r} does not exist in "
                    f"{within}app {user_id}/{app_id}.",
                    parameter="dataset_version_id",
                )
            return version.snapshot
        if params.dataset_id:
            try:
                return tuple(self._registry.list_dataset_inputs(user_id, app_id, params.dataset_id))
            except KeyError:
                raise InvalidParameter(
                    f"Dataset {params.dataset_id!r} does not exist in app {user_id}/{app_id}.",
                    parameter="dataset_id",
                ) from None
        return tuple(self._registry.list_inputs(user_id, app_id))

    @staticmethod
    def _exclusive_inputs(
        inputs: tuple[StoredInput, ...], concepts: tuple[Concept, ...]
    ) -> tuple[StoredInput, ...]:
        """Mutually exclusive concepts learn from inputs with exactly one positive of them."""
        if len(concepts) < 2:
            raise InvalidParameter(
                "concepts_mutually_exclusive needs at least 2 concepts.",
                parameter="concepts_mutually_exclusive",
            )
        ids = [c.id for c in concepts]
        positives = {i.input_id: [c for c in ids if i.concepts.get(c, 0.0) >= 0.5] for i in inputs}
        several = [i for i, p in positives.items() if len(p) > 1]
        if several:
            raise InvalidParameter(
                "concepts_mutually_exclusive is true but these inputs are positive for more "
                f"than one of the concepts: {', '.join(several[:5])}"
                + (f" and {len(several) - 5} more" if len(several) > 5 else "")
                + ".",
                parameter="concepts_mutually_exclusive",
            )
        return tuple(i for i in inputs if positives[i.input_id])

    async def wait_idle(self) -> None:
        """Wait for the trainings under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _train(
        self, version: ModelVersion, base: Deployment, snapshot: Snapshot,
        params: TrainParams, info: dict[str, Any],
    ) -> None:  # fmt: skip
        set_state = self._registry.set_training
        try:
            if not set_state(version.id, StatusCode.MODEL_TRAINING, "Training", info):
                return  # deleted before it started
            vectors = await self._embed(base, snapshot)
            labels = np.array(
                [[i.concepts.get(c.id, 0.0) >= 0.5 for c in snapshot.concepts]
                 for i in snapshot.inputs],
                dtype=np.int8,
            )  # fmt: skip
            weights, bias, metrics = await asyncio.to_thread(
                fit, vectors, labels, snapshot.concepts, params
            )
            path = self.artifact_path(version.id)
            await asyncio.to_thread(save_artifact, path, weights, bias, params.exclusive)
            done = {**info, "metrics": metrics.to_json(), "examples": len(snapshot.inputs)}
            if not set_state(
                version.id, StatusCode.MODEL_TRAINED, "Model is trained and ready", done
            ):
                path.unlink(missing_ok=True)  # the version (or its app) was deleted meanwhile
        except ClarionError as exc:
            set_state(version.id, StatusCode.MODEL_TRAINING_FAILED, f"Training failed: {exc}", info)
        except Exception as exc:
            log.exception("training of version %s failed", version.id)
            set_state(version.id, StatusCode.MODEL_TRAINING_FAILED, f"Training failed: {exc}", info)

    @staticmethod
    def _check(snapshot: Snapshot) -> None:
        if not snapshot.inputs:
            raise TrainingRefused(
                "No inputs are labelled with the model's concepts.",
                code=StatusCode.MODEL_TRAINING_NO_DATA,
            )
        lacking = [
            c.id for c in snapshot.concepts
            if not any(i.concepts.get(c.id, 0.0) >= 0.5 for i in snapshot.inputs)
        ]  # fmt: skip
        if lacking:
            raise TrainingRefused(
                f"These concepts have no positive examples: {', '.join(lacking)}.",
                code=StatusCode.MODEL_TRAINING_NO_POSITIVES,
            )
        if len(snapshot.inputs) < 2:
            raise TrainingRefused(
                "At least 2 labelled inputs are needed.", code=StatusCode.MODEL_TRAINING_NO_DATA
            )

    async def _embed(self, base: Deployment, snapshot: Snapshot) -> np.ndarray:
        items = []
        for record in snapshot.inputs:
            if snapshot.kind is InputKind.TEXT:
                items.append(Input(record.input_id, InputKind.TEXT, text=record.text or ""))
            else:
                data = await asyncio.to_thread(Path(record.file or "").read_bytes)
                image = await asyncio.to_thread(decode_image, data, self._settings.max_image_pixels)
                items.append(Input(record.input_id, InputKind.IMAGE, image=image))
        rows: list[Any] = []
        for start in range(0, len(items), MAX_BATCH_INPUTS):
            outputs = await self._backend.predict(base, items[start : start + MAX_BATCH_INPUTS])
            rows.extend(o.embedding for o in outputs)
        return np.stack(rows).astype(np.float32)


def fit(
    vectors: np.ndarray, labels: np.ndarray, concepts: tuple[Concept, ...],
    params: TrainParams | None = None,
) -> tuple[np.ndarray, np.ndarray, TrainingMetrics]:  # fmt: skip
    """Heads for the concepts (one softmax when they are mutually exclusive, else one logistic
    regression each) and cross-validated held-out metrics."""
    params = params or TrainParams()
    if params.exclusive:
        weights, bias, held_out = _fit_softmax(vectors, labels, params)
    else:
        weights, bias, held_out = _fit_independent(vectors, labels, params)
    per_concept = {}
    for column, concept in enumerate(concepts):
        truth, guess = labels[:, column] == 1, held_out[:, column] == 1
        true_positive = int((truth & guess).sum())
        per_concept[concept.id] = ConceptMetrics(
            precision=true_positive / max(1, int(guess.sum())),
            recall=true_positive / max(1, int(truth.sum())),
            positives=int(truth.sum()),
        )
    metrics = TrainingMetrics(
        accuracy=float((held_out == labels).all(axis=1).mean()),
        per_concept=per_concept,
        method="stratified cross-validation (up to 5 folds)",
    )
    return weights, bias, metrics


def _fit_independent(
    vectors: np.ndarray, labels: np.ndarray, params: TrainParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    weights, bias = [], []
    held_out = np.zeros_like(labels)
    for column in range(labels.shape[1]):
        y = labels[:, column]
        if y.min() == y.max():  # every example is positive: nothing to separate from
            weights.append(np.zeros(vectors.shape[1], dtype=np.float32))
            bias.append(6.0)
            held_out[:, column] = 1
            continue
        model = LogisticRegression(**params.hyperparameters())
        model.fit(vectors, y)
        weights.append(model.coef_[0].astype(np.float32))
        bias.append(float(model.intercept_[0]))
        held_out[:, column] = _held_out(vectors, y, params, model)
    return np.stack(weights), np.array(bias, dtype=np.float32), held_out


def _fit_softmax(
    vectors: np.ndarray, labels: np.ndarray, params: TrainParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    y = labels.argmax(axis=1)
    model = LogisticRegression(**params.hyperparameters())
    model.fit(vectors, y)
    classes = list(model.classes_)
    weights = np.zeros((labels.shape[1], vectors.shape[1]), dtype=np.float32)
    bias = np.zeros(labels.shape[1], dtype=np.float32)
    if len(classes) == 2:  # binary: sklearn keeps one row, the logit of the second class
        weights[classes[1]], bias[classes[1]] = model.coef_[0], model.intercept_[0]
    else:
        for row, cls in enumerate(classes):
            weights[cls], bias[cls] = model.coef_[row], model.intercept_[row]
    guess = _held_out(vectors, y, params, model)
    held_out = np.zeros_like(labels)
    held_out[np.arange(len(y)), guess] = 1
    return weights, bias, held_out


def _held_out(vectors: np.ndarray, y: np.ndarray, params: TrainParams, model: Any) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = int(min(5, np.bincount(y).min()))
    if folds < 2:
        result: np.ndarray = model.predict(vectors)
        return result
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    predicted: np.ndarray = cross_val_predict(
        LogisticRegression(**params.hyperparameters()),
        vectors,
        y,
        cv=splitter,  # type: ignore[arg-type]
    )
    return predicted


def save_artifact(
    path: Path, weights: np.ndarray, bias: np.ndarray, exclusive: bool = False
) -> None:
    """Write the heads once; ``softmax`` marks mutually exclusive concepts."""
    mode = np.array([1 if exclusive else 0], dtype=np.int8)
    write_atomically(path, lambda f: np.savez(f, weights=weights, bias=bias, softmax=mode))
