"""Custom concept models: every training is a new immutable version, predictable by id."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from clarifai_grpc.grpc.api import resources_pb2
from skimage import data

from clarion.auth import KeyManager
from clarion.client import App, ClarionApiError
from clarion.registry import Registry
from clarion.server_thread import ServerThread
from tests.conftest import make_settings
from tests.labelled_texts import COOKING, HELD_OUT, MORE_COOKING, MORE_SPORTS, SPORTS
from tests.photos import photo_variants

pytestmark = pytest.mark.slow


def _labelled(texts: list[str], concept: str, other: str, prefix: str) -> list[resources_pb2.Input]:
    return [App.text_input(t, [concept], [other], f"{prefix}{i}") for i, t in enumerate(texts)]


def _scores(app: App, version_id: str, texts: list[str]) -> list[dict[str, float]]:
    with app.model("topic", version_id) as model:
        response = model.predict([App.text_input(t) for t in texts])
    return [{c.id: c.value for c in o.data.concepts} for o in response.outputs]


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("custom-home")


@pytest.fixture(scope="module")
def running(home: Path) -> Iterator[ServerThread]:
    with ServerThread(make_settings(home)) as server:
        yield server


@pytest.fixture(scope="module")
def alice(running: ServerThread, home: Path) -> str:
    registry = Registry.open(make_settings(home).resolved_database_url)
    try:
        return KeyManager(registry).create("alice")
    finally:
        registry.close()


@dataclass(frozen=True)
class Trained:
    """An app whose model was trained twice, and its scores on HELD_OUT before the second."""

    app: App
    first: resources_pb2.ModelVersion
    second: resources_pb2.ModelVersion
    before: list[dict[str, float]]


@pytest.fixture(scope="module")
def trained(running: ServerThread, alice: str) -> Trained:
    """An app with a text model trained twice; the second time on more inputs."""
    app = App("sports-or-cooking", pat=alice, base_url=running.grpc_url).create()
    app.add_inputs(
        _labelled(SPORTS, "sports", "cooking", "s") + _labelled(COOKING, "cooking", "sports", "c")
    )
    app.create_model("topic", ["sports", "cooking"])
    first = app.train("topic")
    before = _scores(app, first.id, HELD_OUT)
    app.add_inputs(
        _labelled(MORE_SPORTS, "sports", "cooking", "ms")
        + _labelled(MORE_COOKING, "cooking", "sports", "mc")
    )
    second = app.train("topic")
    return Trained(app, first, second, before)


def test_two_trainings_make_two_versions(trained: Trained) -> None:
    app, first, second = trained.app, trained.first, trained.second
    assert isinstance(app, App)
    versions = app.list_versions("topic")
    assert [v.id for v in versions] == [second.id, first.id]
    assert first.total_input_count == 12 and second.total_input_count == 16
    summary = second.metrics.summary
    assert summary.top1_accuracy >= 0.75 and summary.macro_avg_recall >= 0.75


def test_each_version_answers_for_itself_and_latest_is_newest(trained: Trained) -> None:
    app, first, second = trained.app, trained.first, trained.second
    assert isinstance(app, App)
    sports, cooking = _scores(app, second.id, HELD_OUT)
    assert sports["sports"] > sports["cooking"] and cooking["cooking"] > cooking["sports"]
    latest = _scores(app, "", HELD_OUT)
    assert latest == _scores(app, second.id, HELD_OUT)
    assert latest != _scores(app, first.id, HELD_OUT)
    with app.model("topic") as model:
        response = model.predict([App.text_input(HELD_OUT[0])])
    assert response.outputs[0].model.model_version.id == second.id


def test_the_first_version_is_bit_identical_after_retraining(trained: Trained) -> None:
    app, first = trained.app, trained.first
    assert isinstance(app, App)
    assert _scores(app, first.id, HELD_OUT) == trained.before


def test_training_failures_have_their_status(running: ServerThread, alice: str) -> None:
    app = App("failures", pat=alice, base_url=running.grpc_url).create()
    app.create_model("empty", ["sports"])
    with pytest.raises(ClarionApiError) as info:
        app.train("empty")
    assert info.value.code == 21110 and "No inputs" in info.value.description
    app.add_inputs(_labelled(SPORTS[:3], "sports", "chess", "x"))
    app.create_model("lopsided", ["sports", "chess"])
    with pytest.raises(ClarionApiError) as info:
        app.train("lopsided")
    assert info.value.code == 21111 and "chess" in info.value.description
    with app.model("lopsided") as model, pytest.raises(ClarionApiError) as info:
        model.predict([App.text_input("hello")])
    assert info.value.code == 21200 and "no versions" in info.value.details  # only a failed one


def test_predicting_a_version_still_training(running: ServerThread, alice: str) -> None:
    app = App("busy", pat=alice, base_url=running.grpc_url).create()
    many = [
        App.text_input(f"{SPORTS[i % 6]} Game {i}.", ["sports"], ["cooking"]) for i in range(300)
    ]
    many += [
        App.text_input(f"{COOKING[i % 6]} Dish {i}.", ["cooking"], ["sports"]) for i in range(300)
    ]
    app.add_inputs(many)
    app.create_model("topic", ["sports", "cooking"])
    version = app.train("topic", wait=False)
    with app.model("topic", version.id) as model, pytest.raises(ClarionApiError) as info:
        model.predict([App.text_input("The keeper saved it.")])
    assert info.value.code in (21101, 21103) and version.id in info.value.details
    finished = app.train("topic")  # a second training waits its turn and finishes
    assert finished.status.code == 21100


def test_deleting_the_app_mid_training(running: ServerThread, alice: str, home: Path) -> None:
    app = App("doomed", pat=alice, base_url=running.grpc_url).create()
    app.add_inputs(
        [App.text_input(f"{SPORTS[i % 6]} {i}", ["sports"], ["cooking"]) for i in range(200)]
        + [App.text_input(f"{COOKING[i % 6]} {i}", ["cooking"], ["sports"]) for i in range(200)]
    )
    app.create_model("topic", ["sports", "cooking"])
    version = app.train("topic", wait=False)
    app.delete()
    time.sleep(3)
    assert not (home / "artifacts" / f"{version.id}.npz").exists()
    with pytest.raises(ClarionApiError) as info:
        app.version("topic", version.id)
    assert info.value.code == 11101
    again = App("doomed", pat=alice, base_url=running.grpc_url).create()  # the server carries on
    assert list(again.list_inputs()) == []


def test_deleting_an_app_removes_its_trained_artefacts(
    running: ServerThread, alice: str, home: Path
) -> None:
    app = App("short-lived", pat=alice, base_url=running.grpc_url).create()
    app.add_inputs(
        [App.text_input(f"{SPORTS[i]} {i}", ["sports"], ["cooking"]) for i in range(3)]
        + [App.text_input(f"{COOKING[i]} {i}", ["cooking"], ["sports"]) for i in range(3)]
    )
    app.create_model("topic", ["sports", "cooking"])
    version = app.train("topic")
    artefact = home / "artifacts" / f"{version.id}.npz"
    assert artefact.exists()
    app.delete()
    assert not artefact.exists()


def test_other_users_apps_are_invisible_and_public_is_read_only(
    trained: Trained, running: ServerThread
) -> None:
    owner = trained.app
    assert isinstance(owner, App)
    intruder = App("sports-or-cooking", user_id="alice", pat=running.pat, base_url=running.grpc_url)
    for attempt in (
        lambda: list(intruder.list_inputs()),
        lambda: intruder.add_inputs([App.text_input("x", ["sports"])]),
        lambda: intruder.train("topic"),
        lambda: intruder.delete_model("topic"),
        lambda: intruder.delete(),
        lambda: _scores(intruder, "", ["x"]),
    ):
        with pytest.raises(ClarionApiError) as info:
            attempt()
        assert info.value.code in (11101, 21200), info.value
    public = App("main", user_id="clarion", pat=running.pat, base_url=running.grpc_url)
    with pytest.raises(ClarionApiError) as info:
        public.add_inputs([App.text_input("x", ["sports"])])
    assert info.value.code == 11007 and "read-only" in info.value.details
    assert len(list(owner.list_inputs())) == 16  # untouched


def test_deleting_a_version_falls_back_to_the_previous(
    trained: Trained, running: ServerThread, alice: str
) -> None:
    app = App("fallback", pat=alice, base_url=running.grpc_url).create()
    app.add_inputs(
        _labelled(SPORTS, "sports", "cooking", "s") + _labelled(COOKING, "cooking", "sports", "c")
    )
    app.create_model("topic", ["sports", "cooking"])
    first = app.train("topic")
    second = app.train("topic")
    app.delete_version("topic", second.id)
    with app.model("topic") as model:
        response = model.predict([App.text_input(HELD_OUT[0])])
    assert response.outputs[0].model.model_version.id == first.id
    with app.model("topic", second.id) as model, pytest.raises(ClarionApiError) as info:
        model.predict([App.text_input(HELD_OUT[0])])
    assert info.value.code == 21200 and second.id in info.value.details


def test_an_image_model_trains_twice_on_photos(running: ServerThread, alice: str) -> None:
    app = App("photos", pat=alice, base_url=running.grpc_url).create()
    cats, cups = photo_variants(data.chelsea()), photo_variants(data.coffee())
    app.add_inputs(
        [App.image_input(b, ["cat"], ["cup"]) for b in cats[:2]]
        + [App.image_input(b, ["cup"], ["cat"]) for b in cups[:2]]
    )
    app.create_model("things", ["cat", "cup"])
    first = app.train("things")
    held_out = [App.image_input(cats[4]), App.image_input(cups[4])]

    def scores(version_id: str) -> tuple[str, list[dict[str, float]]]:
        with app.model("things", version_id) as model:
            response = model.predict(held_out)
        served = response.outputs[0].model.model_version.id
        return served, [{c.id: c.value for c in o.data.concepts} for o in response.outputs]

    _, before = scores(first.id)
    app.add_inputs(
        [App.image_input(b, ["cat"], ["cup"]) for b in cats[2:4]]
        + [App.image_input(b, ["cup"], ["cat"]) for b in cups[2:4]]
    )
    second = app.train("things")
    assert second.total_input_count == 8 and first.total_input_count == 4
    for version in (first, second):
        served, (cat, cup) = scores(version.id)
        assert served == version.id
        assert cat["cat"] > cat["cup"] and cup["cup"] > cup["cat"]
    assert scores(first.id)[1] == before  # the first version is untouched
    latest, latest_scores = scores("")
    assert latest == second.id and latest_scores == scores(second.id)[1]
    assert latest_scores != before


def test_everything_survives_a_restart(
    trained: Trained, running: ServerThread, home: Path, alice: str
) -> None:
    first, second = trained.first, trained.second
    before = trained.before
    running.stop()
    with ServerThread(make_settings(home)) as again:
        app = App("sports-or-cooking", pat=alice, base_url=again.grpc_url)
        assert len(list(app.list_inputs())) == 16
        assert _scores(app, first.id, HELD_OUT) == before
        assert [v.id for v in app.list_versions("topic")] == [second.id, first.id]
        assert app.version("topic", second.id).status.code == 21100
