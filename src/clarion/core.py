"""The assembled services of one Clarion process, shared by every protocol adapter.

core = Core.open(Settings.from_env())
prediction = await core.predictor.predict(principal, ref, inputs)
await core.aclose()
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clarion.api.clarifai.datasets import DatasetHandlers
from clarion.api.clarifai.deployments import DeploymentHandlers
from clarion.api.clarifai.handlers import ClarifaiHandlers
from clarion.api.clarifai.workspace import WorkspaceHandlers
from clarion.atomic import private_dir
from clarion.auth import BOOTSTRAP_USER, PUBLIC_USER, KeyManager
from clarion.catalog import register_builtins
from clarion.catalog.builtin import changed_files
from clarion.cluster_demand import RegistryDemand
from clarion.config import Settings
from clarion.directory import ModelDirectory
from clarion.domain.placement import Reconciling
from clarion.errors import ClarionError
from clarion.front_end import FrontEnd, instance_id
from clarion.input_files import InputFiles
from clarion.inputs import InputDecoder, UrlFetcher
from clarion.limits import Admission, KeyLimits
from clarion.memory import tune_allocator
from clarion.metrics import Metrics
from clarion.registry import Page, Registry
from clarion.registry.changes import ChangeWatch
from clarion.registry.store import MAX_PER_PAGE
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import Backend, Deployment, LocalBackend
from clarion.service import PredictService
from clarion.training import Trainer
from clarion.workspace import WorkspaceService

#: How long a file may take from being written to its row being committed, at most.
SWEEP_GRACE_S = 300.0


@dataclass
class Core:
    settings: Settings
    registry: Registry
    keys: KeyManager
    admission: Admission
    directory: ModelDirectory
    metrics: Metrics
    backend: Backend
    fetcher: UrlFetcher
    decoder: InputDecoder
    predictor: PredictService
    trainer: Trainer
    handlers: ClarifaiHandlers
    files: InputFiles
    front_end: FrontEnd
    changes: ChangeWatch

    @classmethod
    def open(cls, settings: Settings) -> Core:
        """Open the registry, register the installed built-in models and wire the services.

        ``CLARION_HOME`` is made owner-only (0700) first; everything under it is private.
        """
        private_dir(settings.home)
        tune_allocator()
        registry = Registry.open(settings.resolved_database_url)
        register_builtins(registry, settings)
        changes = ChangeWatch(registry.change_count, settings.cache_s)
        keys = KeyManager(registry, settings.cache_s, changes)
        limits = KeyLimits(settings.key_rate, settings.key_burst, settings.key_max_generations)
        directory = ModelDirectory(registry, settings.cache_s, changes)
        metrics = Metrics()
        front_end = FrontEnd(registry, instance_id(settings.home))
        backend = _backend(settings, metrics, registry, front_end.instance_id)
        fetcher = UrlFetcher(settings)
        decoder = InputDecoder(settings, fetcher)
        predictor = PredictService(directory, decoder, backend, settings.request_timeout_s, limits)
        trainer = Trainer(registry, backend, settings, front_end.instance_id)
        files = InputFiles(settings.files_dir / "inputs")
        workspace = WorkspaceService.assemble(
            registry, directory, trainer, decoder, files, settings.files_dir / "dataset-versions"
        )
        handlers = ClarifaiHandlers(
            registry, directory, predictor, metrics, WorkspaceHandlers(workspace),
            DatasetHandlers(workspace), DeploymentHandlers(workspace),
        )  # fmt: skip
        return cls(
            settings, registry, keys, Admission(keys, limits), directory, metrics, backend,
            fetcher, decoder, predictor, trainer, handlers, files, front_end, changes,
        )  # fmt: skip

    def recover(self) -> None:
        """Before serving: settle what a stopped or killed server left behind (its trainings
        under way, and those of servers whose heartbeat is stale, are marked failed; files no
        record owns are removed). Only the server does this, never an in-process CLI
        command beside a running server.

        The heartbeat is recorded first, so that a server starting later sees this one.
        While another server is alive, files changed in the last :data:`SWEEP_GRACE_S`
        seconds are kept: that server may have written one whose row it has not committed
        yet."""
        started = time.time()
        self.front_end.beat()
        grace = SWEEP_GRACE_S if self.front_end.others_alive() else 0.0
        self.trainer.recover(self.front_end.stale_before(), started - grace)
        self.files.sweep(self.registry.input_files(), started - grace)

    async def preload(self) -> list[str]:
        """Load the models named in ``CLARION_PRELOAD`` ("all" = every built-in model), all at
        once: a big model's load (the default chat model's takes seconds) overlaps the small
        ones' instead of adding to them."""
        wanted = self.settings.preload
        if not wanted:
            return []
        chosen = []
        for model in self.registry.list_models([PUBLIC_USER], Page(1, MAX_PER_PAGE)):
            if "all" in wanted or model.model_id in wanted:
                version = self.registry.get_version(model)
                if version is not None:
                    chosen.append(Deployment.of(model, version))
        chosen.sort(key=lambda d: -int(d.spec.get("memory_mib", 0)))  # known big ones first
        await asyncio.gather(*(self.backend.load(deployment) for deployment in chosen))
        return [deployment.model_id for deployment in chosen]

    async def reconciling(self) -> Reconciling:
        """Which front end reconciles the Ray cluster (none in one process)."""
        return await asyncio.to_thread(self.front_end.reconciler, bool(self.settings.ray_address))

    def registry_ok(self) -> bool:
        try:
            self.registry.count_active_keys()
        except ClarionError:
            return False
        return True

    def ensure_bootstrap_key(self) -> str | None:
        """Make sure a key exists; return a PAT only when one was created here.

        ``CLARION_PAT`` is adopted as a key of the bootstrap user if it is not known yet.
        Otherwise, when no active key exists at all, a new one is created.
        """
        if self.settings.bootstrap_pat:
            self.keys.adopt(self.settings.bootstrap_pat, BOOTSTRAP_USER, "from CLARION_PAT")
            return None
        if self.registry.count_active_keys() == 0:
            return self.keys.create(BOOTSTRAP_USER, "bootstrap key")
        return None

    async def aclose(self) -> None:
        await self.trainer.wait_idle()
        await self.fetcher.aclose()
        self.decoder.close()
        await self.backend.close()
        self.registry.close()


def _backend(settings: Settings, metrics: Metrics, registry: Registry, instance_id: str) -> Backend:
    """The Ray backend when a Ray address is configured (only then is Ray imported), else
    runners in this process. On Ray the front ends sharing the registry record their demand
    there and elect the one that deploys (this one is ``instance_id`` in the election)."""

    def changed(spec: dict[str, Any]) -> Sequence[str]:
        return changed_files(spec, settings)

    if settings.ray_address:
        from clarion.runtime.ray.backend import RayBackend

        return RayBackend(
            RUNNER_FACTORIES,
            settings,
            changed_files=changed,
            demand=RegistryDemand(registry),
            election=registry.reconciler_election(instance_id),
        )
    return LocalBackend(RUNNER_FACTORIES, settings, metrics.runtime_observer(), changed)
