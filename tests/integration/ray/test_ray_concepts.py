"""Trained concept models on a real two-node cluster: every head on MiniLM runs in one shared,
multiplexed heads application that calls MiniLM's own; the answers (concepts, values, order,
output config, a missing artefact's error) are those of one process on the same home.

One Clarion server runs on the cluster: it trains a model twice, a mutually exclusive one and
one whose artefact is then removed, answers predictions, concurrent ones too; then a server
of one process on the same home answers the same predictions. Last, a fresh Ray backend's
first call on a head deploys the embedder with the heads.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from clarifai_grpc.grpc.api import resources_pb2
from ray import serve

from clarion.auth import PUBLIC_USER, KeyManager
from clarion.catalog import PUBLIC_APP
from clarion.client import App, ClarionApiError, Model
from clarion.config import Settings
from clarion.domain.values import Input, InputKind
from clarion.registry import Registry
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import Backend, Deployment, LocalBackend
from clarion.runtime.ray.backend import RayBackend
from clarion.runtime.ray.replica import ReplicaStats
from clarion.server_thread import ServerThread
from tests.conftest import make_settings
from tests.integration.ray.conftest import RayCluster
from tests.integration.ray.versions import ray_backend
from tests.labelled_texts import COOKING as ALL_COOKING
from tests.labelled_texts import SPORTS as ALL_SPORTS

pytestmark = pytest.mark.slow

SPORTS = ALL_SPORTS[:4]
COOKING = ALL_COOKING[:4]
MORE = [("The cyclist won the mountain stage.", "sports"), ("Knead the dough.", "cooking")]
HAPPY = ["What a wonderful sunny day!", "I love this, it is great.", "We laughed all evening."]
SAD = ["I miss my old friends.", "The news made me cry.", "It was a lonely, grey week."]
HELD_OUT = ["The goalkeeper saved a penalty kick.", "Stir the risotto, I love it.", "So sad."]
#: Output configs every version is asked with.
CONFIGS: dict[str, dict[str, Any]] = {
    "plain": {},
    "min_value": {"min_value": 0.5},
    "max_concepts": {"max_concepts": 1},
    "select": {"select_concepts": [{"id": "cooking"}, {"id": "sad"}]},
}
MINILM = "all-minilm-l6-v2"
#: The model of each trained version.
MODEL_OF = {"topic1": "topic", "topic2": "topic", "tone": "tone", "gone": "gone"}
CONCURRENT = 8  # requests at once on each head and on MiniLM itself


@dataclass
class Answers:
    """What one server answered."""

    #: (version, config) -> per input, its concepts as (id, name, value), in order.
    concepts: dict[tuple[str, str], list[list[tuple[str, str, float]]]] = field(
        default_factory=dict
    )
    #: The missing artefact's error: code, description, details.
    gone: tuple[int, str, str] = (0, "", "")


@dataclass
class OnRay:
    answers: Answers
    pat: str
    versions: dict[str, str]
    minilm: str
    #: Serve's applications and how many replicas of each run.
    replicas: dict[str, int]
    #: MiniLM's batch sizes while the heads and direct calls came at once.
    batches: tuple[int, ...]
    #: The heads application's replica stats after the concurrent calls.
    heads: ReplicaStats


def _labelled(texts: list[str], concept: str, prefix: str) -> list[resources_pb2.Input]:
    return [App.text_input(t, [concept], [], f"{prefix}{i}") for i, t in enumerate(texts)]


def _train(app: App, settings: Settings) -> dict[str, str]:
    """Four trained versions: topic twice, an exclusive tone, and one whose file is gone."""
    app.add_inputs(
        _labelled(SPORTS, "sports", "s")
        + _labelled(COOKING, "cooking", "c")
        + _labelled(HAPPY, "happy", "h")
        + _labelled(SAD, "sad", "d")
    )
    app.create_model("topic", ["sports", "cooking"])
    app.create_model("tone", ["happy", "sad"])
    app.create_model("gone", ["sports", "cooking"])
    versions = {"topic1": app.train("topic").id}
    app.add_inputs([App.text_input(t, [c], [], f"m{i}") for i, (t, c) in enumerate(MORE)])
    versions["topic2"] = app.train("topic").id
    versions["tone"] = app.train("tone", exclusive=True).id
    versions["gone"] = app.train("gone").id
    artefact = settings.files_dir / "artifacts" / f"{versions['gone']}.npz"
    assert artefact.is_file()
    artefact.unlink()
    return versions


def _answers(app: App, versions: dict[str, str]) -> Answers:
    """Each version's concepts for HELD_OUT under each output config, one call at a time."""
    answers = Answers()
    for name, version_id in versions.items():
        if name == "gone":
            continue
        for config_name, config in CONFIGS.items():
            with app.model(MODEL_OF[name], version_id) as model:
                response = model.predict(
                    [App.text_input(t) for t in HELD_OUT], output_config=config
                )
            answers.concepts[name, config_name] = [
                [(c.id, c.name, c.value) for c in o.data.concepts] for o in response.outputs
            ]
    with (
        app.model("gone", versions["gone"]) as model,
        pytest.raises(ClarionApiError) as failed,
    ):
        model.predict([App.text_input(HELD_OUT[0])])
    answers.gone = (failed.value.code, failed.value.description, failed.value.details)
    return answers


def _deployment(settings: Settings, user_id: str, app_id: str, model_id: str) -> Deployment:
    """The newest usable version of a model, as the runtime serves it."""
    registry = Registry.open(settings.resolved_database_url)
    try:
        model = registry.get_model(user_id, app_id, model_id)
        assert model is not None
        version = registry.get_version(model)
        assert version is not None
        return Deployment.of(model, version)
    finally:
        registry.close()


def _stats(app_name: str) -> ReplicaStats:
    stats: ReplicaStats = (
        serve.get_deployment_handle("model", app_name=app_name).stats.remote().result()
    )
    return stats


def _at_once(app: App, versions: dict[str, str], pat: str, url: str) -> None:
    """CONCURRENT one-input calls on each head and on MiniLM itself, all at once."""
    heads = ("topic1", "topic2", "tone")
    calls = [(MODEL_OF[n], versions[n], app.user_id, app.app_id) for n in heads]
    calls.append((MINILM, "", PUBLIC_USER, PUBLIC_APP))

    def one(i: int) -> None:
        model_id, version_id, user_id, app_id = calls[i % len(calls)]
        with Model(
            model_id=model_id, user_id=user_id, app_id=app_id, model_version={"id": version_id},
            pat=pat, base_url=url,
        ) as model:  # fmt: skip
            response = model.predict([App.text_input(f"call number {i}")], timeout=120)
        assert len(response.outputs) == 1

    total = CONCURRENT * len(calls)
    with ThreadPoolExecutor(total) as pool:
        list(pool.map(one, range(total)))


def _replicas() -> dict[str, int]:
    return {
        name: sum(
            count
            for deployment in app.deployments.values()
            for state, count in deployment.replica_states.items()
            if state == "RUNNING"
        )
        for name, app in serve.status().applications.items()
    }


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("concepts-home")


@pytest.fixture(scope="module")
def on_ray(home: Path, ray_cluster: RayCluster) -> OnRay:
    settings = make_settings(home, ray_address=ray_cluster.address, load_wait_s=180.0)
    with ServerThread(settings, start_timeout_s=180) as server:
        registry = Registry.open(settings.resolved_database_url)
        try:
            pat = KeyManager(registry).create("alice")
        finally:
            registry.close()
        app = App("concepts", pat=pat, base_url=server.grpc_url).create()
        versions = _train(app, settings)
        answers = _answers(app, versions)
        minilm = _deployment(settings, PUBLIC_USER, PUBLIC_APP, MINILM).version_id
        before = len(_stats(minilm).batch_sizes)
        _at_once(app, versions, pat, server.grpc_url)
        batches = _stats(minilm).batch_sizes[before:]
        heads = _stats(minilm + "-heads")
        return OnRay(answers, pat, versions, minilm, _replicas(), batches, heads)


@pytest.fixture(scope="module")
def in_one_process(home: Path, on_ray: OnRay) -> Answers:
    """The same predictions from a server of one process, after the cluster's stopped."""
    with ServerThread(make_settings(home)) as server:
        app = App("concepts", pat=on_ray.pat, base_url=server.grpc_url)
        return _answers(app, on_ray.versions)


def test_heads_answer_as_in_one_process(on_ray: OnRay, in_one_process: Answers) -> None:
    ray_answers, local = on_ray.answers.concepts, in_one_process.concepts
    assert set(ray_answers) == set(local) and len(local) == 3 * len(CONFIGS)
    for key, mine in local.items():  # one call at a time: the same batches, the same floats
        assert ray_answers[key] == mine, key
    sports, cooking, _ = local["topic2", "plain"]
    assert sports[0][0] == "sports" and cooking[0][0] == "cooking"  # the top concept first
    assert local["tone", "plain"][2][0][0] == "sad"
    assert all(c[2] >= 0.5 for o in local["tone", "min_value"] for c in o)
    assert all(len(o) == 1 for o in local["topic1", "max_concepts"])
    assert {c[0] for o in local["topic1", "select"] for c in o} == {"cooking"}
    assert local["topic1", "plain"] != local["topic2", "plain"]  # the retrained head is its own


def test_a_missing_artefact_answers_as_in_one_process(
    on_ray: OnRay, in_one_process: Answers
) -> None:
    code, _, details = on_ray.answers.gone
    assert code == 21313 and f"{on_ray.versions['gone']}.npz" in details
    assert on_ray.answers.gone == in_one_process.gone


def test_every_head_runs_in_one_application_beside_the_embedders_own(on_ray: OnRay) -> None:
    print(f"applications and running replicas: {on_ray.replicas}")
    assert on_ray.replicas == {on_ray.minilm: 1, on_ray.minilm + "-heads": 1}
    assert not set(on_ray.versions.values()) & set(on_ray.replicas)


def test_the_embedder_batches_the_heads_and_direct_calls_together(on_ray: OnRay) -> None:
    print(f"MiniLM batch sizes: {on_ray.batches}; heads replica: {on_ray.heads}")
    assert sum(on_ray.batches) == 4 * CONCURRENT
    assert max(on_ray.batches) > 1
    assert sum(on_ray.heads.batch_sizes[-3 * CONCURRENT :]) == 3 * CONCURRENT


def test_a_fresh_front_end_deploys_the_embedder_with_the_first_head(
    home: Path, on_ray: OnRay, in_one_process: Answers, ray_cluster: RayCluster
) -> None:
    settings = make_settings(home, ray_address=ray_cluster.address, load_wait_s=180.0)
    topic = _deployment(settings, "alice", "concepts", "topic")
    assert topic.version_id == on_ray.versions["topic2"]
    inputs = [Input(f"t{i}", InputKind.TEXT, text=t) for i, t in enumerate(HELD_OUT)]
    assert _replicas() == {}  # each test ends with no application left

    async def scores(backend: Backend) -> list[Any]:
        try:
            outputs = await backend.predict(topic, inputs)
            if isinstance(backend, RayBackend):
                deployed = {on_ray.minilm: 1, on_ray.minilm + "-heads": 1}
                assert await asyncio.to_thread(_replicas) == deployed
                assert await backend.running_replicas(topic) == 1
            return [o.scores.tolist() for o in outputs if o.scores is not None]
        finally:
            await backend.close()

    registry = Registry.open(settings.resolved_database_url)
    try:
        on_cluster = asyncio.run(scores(ray_backend(settings, registry, RUNNER_FACTORIES)))
    finally:
        registry.close()
    assert on_cluster == asyncio.run(scores(LocalBackend(RUNNER_FACTORIES, settings)))
    # The applications stay when the front end stops: others may serve through them.
    assert _replicas() == {on_ray.minilm: 1, on_ray.minilm + "-heads": 1}
