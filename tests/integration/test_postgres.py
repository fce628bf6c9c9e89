"""The registry on PostgreSQL: the same code as SQLite, through a real server.

A throwaway PostgreSQL cluster (:mod:`tests.postgres`) is started for the module on
127.0.0.1 when the server binaries and the ``postgres`` system user are present (``.ci/run``
installs them); otherwise these tests are skipped and say why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from clarion.auth import KeyManager
from clarion.catalog import register_builtins
from clarion.client import App, Model
from clarion.registry import Page, Registry
from clarion.server_thread import ServerThread
from tests.conftest import make_settings
from tests.postgres import postgres_url

pytestmark = pytest.mark.slow

__all__ = ["postgres_url"]  # the fixture, shared with the other tests on PostgreSQL


def test_registry_on_postgres_is_idempotent(postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", database_url=postgres_url)
    for _ in range(2):  # a restart registers the same rows again, without duplicates
        registry = Registry.open(postgres_url)
        registered = register_builtins(registry, settings)
        models = registry.list_models(["clarion"], Page())
        registry.close()
    assert {r.model.model_id for r in registered} == {m.model_id for m in models}
    assert len(models) == len(registered)


def test_a_server_on_postgres_predicts_and_trains(postgres_url: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", database_url=postgres_url)
    with ServerThread(settings) as server:
        registry = Registry.open(postgres_url)
        pat = KeyManager(registry).create("pg-user")
        registry.close()
        with Model(model_id="all-minilm-l6-v2", pat=pat, base_url=server.grpc_url) as model:
            vector = model.predict_by_bytes(b"hello").outputs[0].data.embeddings[0].vector
        assert len(vector) == 384
        with App("pg-app", pat=pat, base_url=server.grpc_url) as app:
            app.create()
            app.add_inputs([App.text_input("A late goal won it", ["sports"], ["food"]),
                            App.text_input("The team won the cup", ["sports"], ["food"]),
                            App.text_input("Fry the garlic", ["food"], ["sports"]),
                            App.text_input("Bake the bread", ["food"], ["sports"])])  # fmt: skip
            app.create_model("topic", ["sports", "food"])
            assert app.train("topic").status.code == 21100
            app.create_dataset("all")
            app.add_to_dataset("all", [i.id for i in app.list_inputs()])
            frozen = app.create_dataset_version("all")
            app.delete_inputs([next(iter(app.list_inputs())).id])
            on_frozen = app.train("topic", dataset_id="all", dataset_version_id=frozen.id)
            assert on_frozen.status.code == 21100 and on_frozen.total_input_count == 4
            assert {c.id for c in app.list_concepts()} == {"sports", "food"}
            app.delete()  # with its concepts, datasets, versions and jobs
