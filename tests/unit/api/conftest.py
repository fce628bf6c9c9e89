"""A wired :class:`Core` over a temporary home: every service, no model loaded."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from clarion.core import Core
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Core]:
    opened = Core.open(make_settings(tmp_path_factory.mktemp("home")))
    yield opened
    asyncio.run(opened.aclose())


@pytest.fixture(scope="module")
def pat(core: Core) -> str:
    return core.keys.create("alice")
