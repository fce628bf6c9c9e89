"""The Kubernetes sketch under docs/ is not applied to a cluster here; its manifests must at
least parse and keep the settings the README's Ray section asks of every pod."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SKETCH = ROOT / "docs" / "kubernetes.md"


def _manifests() -> list[dict[str, Any]]:
    block = re.search(r"```yaml\n(.*?)```", SKETCH.read_text(), re.S)
    assert block, "docs/kubernetes.md has no yaml block"
    return list(yaml.safe_load_all(block.group(1)))


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def test_the_sketch_parses_and_every_ray_pod_shares_the_token_models_and_files() -> None:
    by_kind = {m["kind"]: m for m in _manifests()}
    assert set(by_kind) == {
        "Secret",
        "PersistentVolumeClaim",
        "RayCluster",
        "Deployment",
        "Service",
    }
    cluster = by_kind["RayCluster"]["spec"]
    pods = [cluster["headGroupSpec"]["template"]["spec"]]
    pods += [group["template"]["spec"] for group in cluster["workerGroupSpecs"]]
    pods.append(by_kind["Deployment"]["spec"]["template"]["spec"])
    for pod in pods:
        env = _env(pod["containers"][0])
        assert env["RAY_AUTH_MODE"] == "token" and env["RAY_AUTH_TOKEN_PATH"]
        assert env["CLARION_MODELS_DIR"] == "/models" and env["CLARION_FILES_DIR"] == "/files"
        assert "clarion models prepare" in pod["initContainers"][0]["command"][-1]
    front_end = _env(by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0])
    assert front_end["CLARION_RAY_ADDRESS"] == "auto" and front_end["CLARION_DATABASE_URL"]
    pinned = re.search(r'"ray\[serve\]==([\d.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pinned and cluster["rayVersion"] == pinned.group(1)  # the extra's Ray
