"""What a killed server leaves behind is settled at the next start, and nothing more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from clarion.config import Settings
from clarion.domain.values import InputKind
from clarion.domain.workspace import StoredInput
from clarion.errors import StatusCode
from clarion.input_files import InputFiles
from clarion.registry import Registry
from clarion.runtime import LocalBackend
from clarion.training import Trainer


def test_a_trainable_version_is_created_with_its_first_training_state(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    queued: tuple[int, str, dict[str, Any]] = (
        int(StatusCode.MODEL_QUEUED_FOR_TRAINING),
        "Queued for training",
        {"inputs": []},
    )
    registry.ensure_version(model, "c" * 32, runner="r", spec={}, training=queued)
    state = registry.training("c" * 32)
    assert state is not None and state.status == StatusCode.MODEL_QUEUED_FOR_TRAINING
    assert registry.get_version(model) is None  # not the latest until it is trained
    registry.close()


def test_recovery_fails_unfinished_trainings_and_removes_unowned_artefacts(
    settings: Settings,
) -> None:
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    for version_id, code in (
        ("a" * 32, StatusCode.MODEL_TRAINED),
        ("b" * 32, StatusCode.MODEL_TRAINING),
    ):
        registry.ensure_version(
            model, version_id, runner="r", spec={}, training=(int(code), "", {})
        )
    trainer = Trainer(registry, LocalBackend({}, settings), settings, "this-server")
    artifacts = settings.home / "artifacts"
    artifacts.mkdir(parents=True)
    kept = artifacts / f"{'a' * 32}.npz"
    for name in (kept.name, f"{'b' * 32}.npz", f"{'d' * 32}.npz", "tmpx1y2.partial"):
        (artifacts / name).write_bytes(b"x")
    trainer.recover(datetime.now(UTC))
    failed = registry.training("b" * 32)
    assert failed is not None and failed.status == StatusCode.MODEL_TRAINING_FAILED
    assert "interrupted by a server restart" in failed.description
    assert sorted(p.name for p in artifacts.iterdir()) == [kept.name]
    registry.close()


def test_the_input_sweep_keeps_every_referenced_file_even_after_a_move(tmp_path: Path) -> None:
    files = InputFiles(tmp_path / "moved" / "inputs")
    live = files.path_for("u1", "app", "kept")
    orphan = files.path_for("u1", "app", "never-committed")
    for path in (live, orphan):
        files.write(path, b"image bytes")
    unfinished = live.parent / "tmp123.partial"
    unfinished.write_bytes(b"half")
    # the registry still names the files under the home's old location
    referenced = {str(tmp_path / "old" / "inputs" / live.parent.name / live.name)}
    assert files.sweep(referenced) == 2
    assert live.read_bytes() == b"image bytes"
    assert not orphan.exists() and not unfinished.exists()


def test_add_inputs_then_sweep_keeps_them(settings: Settings) -> None:
    registry = Registry.open(settings.resolved_database_url)
    registry.ensure_app("u1", "app")
    files = InputFiles(settings.home / "inputs")
    path = files.path_for("u1", "app", "i1")
    files.write(path, b"png")
    registry.add_inputs(
        "u1", "app", [StoredInput("i1", InputKind.IMAGE, None, str(path), {}, datetime.now(UTC))]
    )
    assert files.sweep(registry.input_files()) == 0 and path.exists()
    registry.close()


def test_recovery_leaves_a_live_server_s_training_and_files_changed_since(
    settings: Settings,
) -> None:
    """Servers sharing a registry and a files dir: a starting one fails only the trainings
    of servers that stopped beating, and keeps files changed after its given time."""
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("u1", "app", "m", model_type_id="embedding-classifier")
    registry.heartbeat("other-server")
    training: tuple[int, str, dict[str, Any]] = (int(StatusCode.MODEL_TRAINING), "", {})
    registry.ensure_version(
        model, "b" * 32, runner="r", spec={}, training=training, training_owner="other-server"
    )
    trainer = Trainer(registry, LocalBackend({}, settings), settings, "this-server")
    artifacts = settings.files_dir / "artifacts"
    artifacts.mkdir(parents=True)
    being_written = artifacts / f"{'b' * 32}.npz"
    being_written.write_bytes(b"x")
    trainer.recover(datetime.now(UTC) - timedelta(seconds=30), keep_changed_since=0.0)
    state = registry.training("b" * 32)
    assert state is not None and state.status == StatusCode.MODEL_TRAINING
    assert being_written.exists()
    trainer.recover(datetime.now(UTC) + timedelta(seconds=1))  # its heartbeat went stale
    state = registry.training("b" * 32)
    assert state is not None and state.status == StatusCode.MODEL_TRAINING_FAILED
    assert not being_written.exists()
    registry.close()
