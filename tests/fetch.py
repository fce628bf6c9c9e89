"""A URL fetcher for tests: answers URLs from a table instead of the network."""

from __future__ import annotations

from clarion.config import Settings
from clarion.inputs import UrlFetcher


class StaticFetcher(UrlFetcher):
    """Answers URLs from a table instead of the network."""

    def __init__(self, settings: Settings, bodies: dict[str, bytes]) -> None:
        super().__init__(settings)
        self._bodies = bodies

    async def fetch(self, url: str) -> bytes:
        return self._bodies[url]
