"""The domain and the error tree are plain values: importing them loads no storage and no wire."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import clarion.domain

DOMAIN_MODULES = [
    f"clarion.domain.{name}"
    for name in (
        "datasets",
        "generation",
        "models",
        "output_config",
        "placement",
        "prediction",
        "scaling",
        "values",
        "workspace",
    )
]
FORBIDDEN = ("sqlalchemy", "grpc", "google.protobuf", "clarifai_grpc", "clarion.registry")


def _loaded_after_import(modules: list[str]) -> list[str]:
    script = (
        "import json, sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_the_domain_package_lists_the_modules_checked_here() -> None:
    from pkgutil import iter_modules

    found = {f"clarion.domain.{m.name}" for m in iter_modules(clarion.domain.__path__)}
    assert found == set(DOMAIN_MODULES)


@pytest.mark.parametrize("modules", [DOMAIN_MODULES, ["clarion.errors"]], ids=["domain", "errors"])
def test_importing_loads_no_storage_and_no_grpc(modules: list[str]) -> None:
    loaded = _loaded_after_import(modules)
    leaked = [m for m in loaded if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)]
    assert leaked == []
