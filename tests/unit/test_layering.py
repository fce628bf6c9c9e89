"""The import contracts in pyproject.toml catch a forbidden import, direct or through another.

They are checked here on a small stand-in package laid out like clarion (the real package is
already imported, so the checker could not be pointed at a different tree of that name), with
the contracts' names moved onto it and without the exceptions the real code still needs.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

lint = pytest.importorskip("importlinter.cli", reason="import-linter comes with the dev extra")

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
STAND_IN = "standin"


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _moved(module: str) -> str:
    """A clarion module's name in the stand-in package; other packages keep theirs."""
    if module == "clarion" or module.startswith("clarion."):
        return STAND_IN + module.removeprefix("clarion")
    return module


def _check(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    imports: dict[str, list[str]],
    contract: str | None = None,
) -> int:
    """The checker's exit code for one contract (or all), on a stand-in package whose modules
    import what ``imports`` says (keys and values are clarion names) and nothing else."""
    contracts = _contracts()
    packages = {
        _moved(m)
        for c in contracts
        for m in (*c["source_modules"], *c["forbidden_modules"])
        if _moved(m) != m
    }
    modules = {_moved(m): [_moved(i) for i in targets] for m, targets in imports.items()}
    imported = {i for targets in modules.values() for i in targets if i.split(".")[0] == STAND_IN}
    for name in packages | imported | set(modules):  # each one a package: a directory
        directory = tmp_path.joinpath(*name.split("."))
        directory.mkdir(parents=True, exist_ok=True)
        for package in directory.relative_to(tmp_path).parents[:-1]:
            (tmp_path / package / "__init__.py").touch()
        lines = "".join(f"import {target}\n" for target in modules.get(name, []))
        (directory / "__init__.py").write_text(lines)
    config = [
        "[tool.importlinter]",
        f"root_packages = {json.dumps([STAND_IN])}",
        "include_external_packages = true",
    ]
    for c in contracts:
        config += [
            "[[tool.importlinter.contracts]]",
            *(f"{key} = {json.dumps(c[key])}" for key in ("id", "name", "type")),
            *(
                f"{key} = {json.dumps([_moved(m) for m in c[key]])}"
                for key in ("source_modules", "forbidden_modules")
            ),
        ]
    config_file = tmp_path / "contracts.toml"
    config_file.write_text("\n".join(config) + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code: int = lint.lint_imports(
        config_filename=str(config_file),
        limit_to_contracts=(contract,) if contract else (),
        no_cache=True,
    )
    return code


ALLOWED = {
    "clarion.domain.values": ["clarion.errors"],
    "clarion.runtime.pool": ["clarion.domain.values", "clarion.errors"],
    "clarion.runners.llm": ["clarion.runtime", "clarion.domain.values", "numpy"],
    "clarion.client.channel": ["grpc", "clarifai_grpc"],
    "clarion.api.grpc": ["clarion.service", "clarion.registry", "grpc"],
    "clarion.registry.store": ["sqlalchemy", "clarion.domain.values"],
}


def test_imports_that_follow_the_layers_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _check(tmp_path, monkeypatch, ALLOWED) == 0


@pytest.mark.parametrize("contract", [c["id"] for c in _contracts()])
def test_each_contract_catches_each_of_its_forbidden_imports(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    contract: str,
) -> None:
    (rules,) = [c for c in _contracts() if c["id"] == contract]
    source = rules["source_modules"][0]
    offenders = {f"{source}.offender{n}": [f] for n, f in enumerate(rules["forbidden_modules"])}
    assert _check(tmp_path, monkeypatch, {**ALLOWED, **offenders}, contract) == 1
    report = capsys.readouterr().out
    for forbidden in rules["forbidden_modules"]:
        assert f"{_moved(source)} is not allowed to import {_moved(forbidden)}:" in report


def test_a_forbidden_import_through_another_module_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imports = {**ALLOWED, "clarion.errors": ["grpc"]}  # the domain imports errors
    assert _check(tmp_path, monkeypatch, imports, "domain") == 1
    imports = {**ALLOWED, "clarion.domain.values": ["clarion.registry.records"]}
    assert _check(tmp_path, monkeypatch, imports, "runners") == 1  # runners import the domain
