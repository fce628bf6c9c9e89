"""Two Clarion servers (front ends) on one PostgreSQL registry and one shared files dir.

Each has its own home, as two hosts would; they share ``CLARION_DATABASE_URL`` and
``CLARION_FILES_DIR``. They start at the same time without breaking each other, a model
trained through one is served by the other, a starting one leaves the other's training
alone, and a key revoked through one stops working on the other within the key cache time.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from clarifai_grpc.grpc.api.status import status_code_pb2
from sqlalchemy import create_engine, text

from clarion.auth import KeyManager
from clarion.client import App, ClarionApiError, Model
from clarion.errors import StatusCode
from clarion.registry import Page, Registry
from tests.postgres import postgres_url
from tests.served import CLARION, Served, clarion_env, serve

__all__ = ["postgres_url"]

pytestmark = pytest.mark.slow

CACHE_S = 1.0
PAT = "f" * 8 + "0123456789abcdef0123456789"


def _database(postgres_url: str, name: str) -> str:
    """A new, empty database in the throwaway cluster."""
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return postgres_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="module")
def registry_url(postgres_url: str) -> str:
    return _database(postgres_url, "front_ends")


@pytest.fixture(scope="module")
def cluster(
    registry_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path, str]]:
    """The homes of the two front ends and their shared settings."""
    root = tmp_path_factory.mktemp("front-ends")
    yield root / "home-a", root / "home-b", str(root / "shared-files")


def _env(registry_url: str, files_dir: str) -> dict[str, str]:
    return {
        "CLARION_DATABASE_URL": registry_url,
        "CLARION_FILES_DIR": files_dir,
        "CLARION_PAT": PAT,
        "CLARION_CACHE_S": str(CACHE_S),
    }


@contextlib.contextmanager
def _serving(*homes: Path, env: dict[str, str]) -> Iterator[list[Served]]:
    """Start one server per home, all at once; stop them on exit."""
    starting = [serve(home, env=env) for home in homes]
    with ThreadPoolExecutor(len(starting)) as pool:
        futures = [pool.submit(s.__enter__) for s in starting]
        outcomes = [f.exception() for f in futures]
    started = [s for s, error in zip(starting, outcomes, strict=True) if error is None]
    try:
        for error in outcomes:
            if error is not None:
                raise error
        yield [f.result() for f in futures]
    finally:
        for server in started:
            server.__exit__(None, None, None)


_REGISTER = """
import sys
from clarion.catalog import register_builtins
from clarion.config import Settings
from clarion.registry import Registry
settings = Settings.from_env()
registry = Registry.open(settings.database_url)
print(len(register_builtins(registry, settings)))
"""


def test_servers_starting_at_once_create_the_tables_and_register_the_built_ins_once(
    postgres_url: str, tmp_path: Path
) -> None:
    url = _database(postgres_url, "starting_at_once")
    starts = [
        subprocess.Popen(
            [sys.executable, "-c", _REGISTER],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clarion_env(tmp_path / f"home-{i}", CLARION_DATABASE_URL=url),
        )
        for i in range(4)
    ]
    outcomes = [p.communicate(timeout=120) for p in starts]
    assert [p.returncode for p in starts] == [0] * 4, [err for _, err in outcomes]
    registered = {int(out) for out, _ in outcomes}
    registry = Registry.open(url)
    models = registry.list_models(["clarion"], Page())
    assert registered == {len(models)} and len(models) >= 2
    for model in models:
        assert len(registry.list_versions(model, Page())) == 1, model.model_id
    registry.close()


def test_two_front_ends_share_one_registry(
    cluster: tuple[Path, Path, str], registry_url: str
) -> None:
    home_a, home_b, files_dir = cluster
    env = _env(registry_url, files_dir)
    with _serving(home_a, home_b, env=env) as (a, b):
        # both started at once and registered the built-in models once
        registry = Registry.open(registry_url)
        models = registry.list_models(["clarion"], Page())
        assert len(models) == len({m.model_id for m in models}) >= 2
        for model in models:
            assert len(registry.list_versions(model, Page())) == 1, model.model_id
        pat = KeyManager(registry).create("team")

        with App("news", pat=pat, base_url=a.grpc_url) as app:
            app.create()
            app.add_inputs([App.text_input("A late goal won it", ["sports"], ["food"]),
                            App.text_input("The team won the cup", ["sports"], ["food"]),
                            App.text_input("Fry the garlic", ["food"], ["sports"]),
                            App.text_input("Bake the bread", ["food"], ["sports"])])  # fmt: skip
            app.create_model("topic", ["sports", "food"])
            assert app.train("topic").status.code == StatusCode.MODEL_TRAINED
        assert list((Path(files_dir) / "artifacts").glob("*.npz"))  # in the shared dir
        with Model(model_id="topic", user_id="team", app_id="news", pat=pat,
                   base_url=b.grpc_url) as topic:  # fmt: skip
            concepts = topic.predict_by_bytes(b"The striker scored twice").outputs[0].data.concepts
        assert concepts[0].id == "sports"

        # a key revoked through one front end stops working on the other within the cache
        with Model(model_id="all-minilm-l6-v2", pat=pat, base_url=b.grpc_url) as on_b:
            on_b.predict_by_bytes(b"still valid")
            revoke = [CLARION, "keys", "revoke", pat[:8]]
            subprocess.run(revoke, env=clarion_env(home_a, **env), check=True, timeout=120)
            revoked = time.monotonic()
            while True:
                try:
                    on_b.predict_by_bytes(b"still valid?")
                except ClarionApiError as exc:
                    assert exc.code == status_code_pb2.CONN_KEY_INVALID
                    break
                assert time.monotonic() - revoked < CACHE_S + 1.0, "the revocation was missed"
                time.sleep(0.1)
        registry.close()


def test_a_starting_front_end_leaves_a_live_one_s_training_alone(
    cluster: tuple[Path, Path, str], registry_url: str
) -> None:
    home_a, home_b, files_dir = cluster
    env = _env(registry_url, files_dir)
    with _serving(home_a, env=env):
        registry = Registry.open(registry_url)
        model = registry.ensure_model(
            "team", "news", "under-way", model_type_id="embedding-classifier"
        )
        training: tuple[int, str, dict[str, Any]] = (int(StatusCode.MODEL_TRAINING), "Training", {})
        owner_a = (home_a / "instance-id").read_text().strip()
        for version_id, owner in (("a" * 32, owner_a), ("b" * 32, "a-server-that-is-gone")):
            registry.ensure_version(
                model, version_id, runner="embedding-classifier", spec={},
                training=training, training_owner=owner,
            )  # fmt: skip
        with _serving(home_b, env=env):
            live = registry.training("a" * 32)
            gone = registry.training("b" * 32)
        assert live is not None and live.status == StatusCode.MODEL_TRAINING
        assert gone is not None and gone.status == StatusCode.MODEL_TRAINING_FAILED
        registry.close()
