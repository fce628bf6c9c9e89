"""The assembled services of one Clarion process, shared by every protocol adapter.

core = Core.open(Settings.from_env())
prediction = await core.predictor.predict(principal, ref, inputs)
await core.aclose()
"""

from __future__ import annotations

from dataclasses import dataclass

from clarion.api.clarifai.handlers import ClarifaiHandlers
from clarion.auth import BOOTSTRAP_USER, KeyManager
from clarion.catalog import register_builtins
from clarion.config import Settings
from clarion.directory import ModelDirectory
from clarion.inputs import InputDecoder, UrlFetcher
from clarion.registry import Registry
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import RunnerPool
from clarion.service import PredictService


@dataclass
class Core:
    settings: Settings
    registry: Registry
    keys: KeyManager
    directory: ModelDirectory
    pool: RunnerPool
    fetcher: UrlFetcher
    decoder: InputDecoder
    predictor: PredictService
    handlers: ClarifaiHandlers

    @classmethod
    def open(cls, settings: Settings) -> Core:
        """Open the registry, register the installed built-in models and wire the services."""
        registry = Registry.open(settings.resolved_database_url)
        register_builtins(registry, settings)
        keys = KeyManager(registry)
        directory = ModelDirectory(registry)
        pool = RunnerPool(RUNNER_FACTORIES, settings)
        fetcher = UrlFetcher(settings)
        decoder = InputDecoder(settings, fetcher)
        predictor = PredictService(directory, decoder, pool)
        handlers = ClarifaiHandlers(registry, directory, predictor)
        return cls(settings, registry, keys, directory, pool, fetcher, decoder, predictor, handlers)

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
        await self.fetcher.aclose()
        self.decoder.close()
        self.pool.close()
        self.registry.close()
