"""The workspace: a user's apps, stored inputs, concepts, datasets, custom models and the
deployments of model versions.

:class:`WorkspaceService` holds one service for each; the protocol adapters call them with
domain values. Each keeps its own rules; the bounds all of them share are in :mod:`.bounds`.

    workspace = WorkspaceService.assemble(registry, directory, trainer, decoder, files, root)
    stored = await workspace.inputs.add_inputs(principal, "me", "news", new_inputs)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clarion.directory import ModelDirectory
from clarion.input_files import InputFiles
from clarion.inputs import InputDecoder
from clarion.registry import Registry
from clarion.training import Trainer
from clarion.workspace.apps import AppService
from clarion.workspace.concepts import ConceptService
from clarion.workspace.datasets import DatasetService
from clarion.workspace.deployments import DeploymentService
from clarion.workspace.inputs import InputService
from clarion.workspace.models import ModelService
from clarion.workspace.version_files import VersionFiles


@dataclass(frozen=True)
class WorkspaceService:
    apps: AppService
    inputs: InputService
    concepts: ConceptService
    datasets: DatasetService
    models: ModelService
    deployments: DeploymentService

    @classmethod
    def assemble(
        cls,
        registry: Registry,
        directory: ModelDirectory,
        trainer: Trainer,
        decoder: InputDecoder,
        files: InputFiles,
        versions_root: Path,
    ) -> WorkspaceService:
        """The services over one registry; frozen dataset versions keep their files under
        ``versions_root``."""
        version_files = VersionFiles(versions_root)
        models = ModelService(registry, directory, trainer)
        return cls(
            apps=AppService(registry, directory, models, version_files),
            inputs=InputService(registry, directory, decoder, files),
            concepts=ConceptService(registry, directory),
            datasets=DatasetService(registry, directory, version_files),
            models=models,
            deployments=DeploymentService(registry, directory),
        )
