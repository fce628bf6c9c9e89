"""Training custom concept models: every training makes a new, immutable model version.

``PostModelVersions`` snapshots the app's labelled inputs, creates the version (queued) and
trains it in the background:

    queued (21103) -> training (21101) -> trained (21100)
                                       -> no inputs (21110) | a concept without positives
                                          (21111) | failed (21106, with the reason)

The inputs are embedded with the base model (a text or image embedder, chosen by the inputs'
kind or the ``base_model`` param), one logistic-regression head per concept is fitted
(scikit-learn; concepts need not be exclusive), and held-out metrics come from stratified
cross-validation. The artefact is written once, atomically, under
``$CLARION_HOME/artifacts/<version_id>.npz``; the version's spec pins it and the base model
version, so a trained version never changes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from clarion.atomic import PARTIAL_SUFFIX, write_atomically
from clarion.auth import PUBLIC_USER
from clarion.catalog import PUBLIC_APP
from clarion.config import MAX_BATCH_INPUTS, Settings
from clarion.domain.values import Input, InputKind
from clarion.errors import ClarionError, InvalidParameter, StatusCode
from clarion.images import decode_image
from clarion.registry import ConceptRecord, ModelRecord, Registry, VersionRecord
from clarion.registry.workspace import InputRecord
from clarion.runtime import RunnerPool

log = logging.getLogger(__name__)

BASE_MODELS = {InputKind.TEXT: "all-minilm-l6-v2", InputKind.IMAGE: "general-image-embedding"}
HYPERPARAMETERS = {"C": 10.0, "max_iter": 1000, "class_weight": "balanced"}
UNFINISHED = (StatusCode.MODEL_QUEUED_FOR_TRAINING, StatusCode.MODEL_TRAINING)


class TrainingError(Exception):
    def __init__(self, code: StatusCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Snapshot:
    """The labelled inputs a version is trained on, fixed when training is asked for."""

    inputs: tuple[InputRecord, ...]
    concepts: tuple[ConceptRecord, ...]
    kind: InputKind


class Trainer:
    """Starts trainings and runs them as background tasks of the serving process."""

    def __init__(self, registry: Registry, pool: RunnerPool, settings: Settings) -> None:
        self._registry = registry
        self._pool = pool
        self._settings = settings
        self._artifacts = settings.home / "artifacts"
        self._tasks: set[asyncio.Task[None]] = set()

    def recover(self) -> None:
        """After a stop or a crash: versions left queued or training are marked failed
        (21106, saying why), and artefact files that no trained version owns (an unfinished
        write, a training cut short, a delete whose file removal did not happen) are
        removed."""
        for version_id in self._registry.unfinished_trainings([int(c) for c in UNFINISHED]):
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
            if (state := self._registry.training(version_id)) is not None
            and state.status_code == StatusCode.MODEL_TRAINED
        }
        for path in self._artifacts.iterdir():
            if path.suffix == PARTIAL_SUFFIX or path.stem not in owned:
                log.info("removing %s: no trained version owns it", path.name)
                path.unlink(missing_ok=True)

    def artifact_path(self, version_id: str) -> Path:
        return self._artifacts / f"{version_id}.npz"

    def start(self, model: ModelRecord, params: dict[str, Any]) -> VersionRecord:
        """Create a queued version of ``model`` and train it in the background."""
        config = self._registry.model_config(model)
        concepts = tuple(
            ConceptRecord(c["id"], c.get("name") or c["id"]) for c in config.get("concepts", [])
        )
        wanted = {c.id for c in concepts}
        inputs = tuple(
            i for i in self._registry.list_inputs(model.user_id, model.app_id)
            if wanted & set(i.concepts)
        )  # fmt: skip
        kinds = {i.kind for i in inputs}
        if len(kinds) > 1:
            raise InvalidParameter(
                "The app's labelled inputs mix text and images; a model learns from one kind.",
                parameter="inputs",
            )
        kind = InputKind(kinds.pop()) if kinds else InputKind.TEXT
        base_id = str(params.get("base_model") or BASE_MODELS[kind])
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
        version_id = uuid.uuid4().hex
        spec = {
            "base_runner": base.runner,
            "base_spec": base.spec,
            "base_model": base_id,
            "base_version_id": base.id,
            "artifact_path": str(self.artifact_path(version_id)),
            "kind": kind.value,
        }
        snapshot = Snapshot(inputs, concepts, kind)
        info = {
            "inputs": [i.input_id for i in inputs],
            "concepts": [c.id for c in concepts],
            "base_model": base_id,
            "base_version_id": base.id,
            "hyperparameters": HYPERPARAMETERS,
        }
        version = self._registry.ensure_version(
            model, version_id, runner="embedding-classifier", spec=spec, concepts=concepts,
            description=str(params.get("description", "")),
            training=(StatusCode.MODEL_QUEUED_FOR_TRAINING, "Queued for training", info),
        )  # fmt: skip
        task = asyncio.get_running_loop().create_task(self._train(version, base, snapshot, info))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return version

    async def wait_idle(self) -> None:
        """Wait for the trainings under way (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _train(
        self, version: VersionRecord, base: VersionRecord, snapshot: Snapshot, info: dict[str, Any]
    ) -> None:
        set_state = self._registry.set_training
        try:
            if not set_state(version.id, StatusCode.MODEL_TRAINING, "Training", info):
                return  # deleted before it started
            self._check(snapshot)
            vectors = await self._embed(base, snapshot)
            labels = np.array(
                [[i.concepts.get(c.id, 0.0) >= 0.5 for c in snapshot.concepts]
                 for i in snapshot.inputs],
                dtype=np.int8,
            )  # fmt: skip
            weights, bias, metrics = await asyncio.to_thread(
                fit, vectors, labels, snapshot.concepts
            )
            path = self.artifact_path(version.id)
            await asyncio.to_thread(save_artifact, path, weights, bias)
            done = {**info, "metrics": metrics, "examples": len(snapshot.inputs)}
            if not set_state(
                version.id, StatusCode.MODEL_TRAINED, "Model is trained and ready", done
            ):
                path.unlink(missing_ok=True)  # the version (or its app) was deleted meanwhile
        except TrainingError as exc:
            set_state(version.id, exc.code, exc.reason, info)
        except ClarionError as exc:
            set_state(version.id, StatusCode.MODEL_TRAINING_FAILED, f"Training failed: {exc}", info)
        except Exception as exc:
            log.exception("training of version %s failed", version.id)
            set_state(version.id, StatusCode.MODEL_TRAINING_FAILED, f"Training failed: {exc}", info)

    @staticmethod
    def _check(snapshot: Snapshot) -> None:
        if not snapshot.concepts:
            raise TrainingError(StatusCode.MODEL_TRAINING_NO_DATA, "The model has no concepts.")
        if not snapshot.inputs:
            raise TrainingError(
                StatusCode.MODEL_TRAINING_NO_DATA,
                "No inputs in the app are labelled with the model's concepts.",
            )
        lacking = [
            c.id for c in snapshot.concepts
            if not any(i.concepts.get(c.id, 0.0) >= 0.5 for i in snapshot.inputs)
        ]  # fmt: skip
        if lacking:
            raise TrainingError(
                StatusCode.MODEL_TRAINING_NO_POSITIVES,
                f"These concepts have no positive examples: {', '.join(lacking)}.",
            )
        if len(snapshot.inputs) < 2:
            raise TrainingError(
                StatusCode.MODEL_TRAINING_NO_DATA, "At least 2 labelled inputs are needed."
            )

    async def _embed(self, base: VersionRecord, snapshot: Snapshot) -> np.ndarray:
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
            outputs = await self._pool.predict(base, items[start : start + MAX_BATCH_INPUTS])
            rows.extend(o.embedding for o in outputs)
        return np.stack(rows).astype(np.float32)


def fit(
    vectors: np.ndarray, labels: np.ndarray, concepts: tuple[ConceptRecord, ...]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """One logistic regression per concept, and cross-validated held-out metrics."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    weights, bias, per_concept = [], [], {}
    held_out = np.zeros_like(labels)
    for column in range(len(concepts)):
        y = labels[:, column]
        model = LogisticRegression(**HYPERPARAMETERS)  # type: ignore[arg-type]
        if y.min() == y.max():  # every example is positive: nothing to separate from
            weights.append(np.zeros(vectors.shape[1], dtype=np.float32))
            bias.append(6.0)
            held_out[:, column] = 1
            continue
        model.fit(vectors, y)
        weights.append(model.coef_[0].astype(np.float32))
        bias.append(float(model.intercept_[0]))
        folds = int(min(5, np.bincount(y).min()))
        if folds >= 2:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
            held_out[:, column] = cross_val_predict(
                LogisticRegression(**HYPERPARAMETERS),
                vectors,
                y,
                cv=splitter,  # type: ignore[arg-type]
            )
        else:
            held_out[:, column] = model.predict(vectors)
    for column, concept in enumerate(concepts):
        truth, guess = labels[:, column] == 1, held_out[:, column] == 1
        true_positive = int((truth & guess).sum())
        per_concept[concept.id] = {
            "precision": true_positive / max(1, int(guess.sum())),
            "recall": true_positive / max(1, int(truth.sum())),
            "positives": int(truth.sum()),
        }
    accuracy = float((held_out == labels).all(axis=1).mean())
    metrics = {
        "accuracy": accuracy,
        "per_concept": per_concept,
        "method": "stratified cross-validation (up to 5 folds)",
    }
    return np.stack(weights), np.array(bias, dtype=np.float32), metrics


def save_artifact(path: Path, weights: np.ndarray, bias: np.ndarray) -> None:
    write_atomically(path, lambda f: np.savez(f, weights=weights, bias=bias))
