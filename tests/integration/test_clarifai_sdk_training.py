"""The official `clarifai` SDK's own app, input, concept, dataset and training flows, unchanged
but for base_url and the PAT, against a real Clarion server with real base models."""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from clarifai.client.input import Inputs
from clarifai.client.model import Model
from clarifai.client.user import User
from clarifai.datasets.upload.base import ClarifaiDataLoader
from clarifai.datasets.upload.features import VisualClassificationFeatures
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from skimage import data

from clarion.auth import KeyManager
from clarion.registry import Registry
from clarion.server_thread import ServerThread
from tests.conftest import make_settings
from tests.labelled_texts import (
    COOKING,
    HELD_OUT,
    MORE_COOKING,
    MORE_SPORTS,
    SPORTS,
)
from tests.photos import photo_variants

pytestmark = pytest.mark.slow

QUEUED, TRAINING, TRAINED = 21103, 21101, 21100


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sdk-training-home")


class BobsServer(ServerThread):
    """The test server, with a key of user bob's made once it is up."""

    bob = ""


@pytest.fixture(scope="module")
def running(home: Path) -> Iterator[BobsServer]:
    server = BobsServer(make_settings(home))
    with server:
        registry = Registry.open(make_settings(home).resolved_database_url)
        try:
            server.bob = KeyManager(registry).create("bob")
        finally:
            registry.close()
        yield server


@pytest.fixture(scope="module")
def user(running: BobsServer) -> User:
    return User(user_id="bob", pat=running.bob, base_url=running.grpc_url)


def _url(app_id: str, model_id: str, version_id: str = "") -> str:
    url = f"https://clarifai.com/bob/{app_id}/models/{model_id}"
    return url + (f"/model_version/{version_id}" if version_id else "")


def _model(running: BobsServer, app_id: str, model_id: str, version_id: str = "") -> Model:
    return Model(
        url=_url(app_id, model_id, version_id),
        pat=running.bob,
        base_url=running.grpc_url,
    )


def _text_inputs(texts: list[str], label: str, prefix: str, dataset_id: str = "") -> list[Any]:
    return [
        Inputs.get_text_input(f"{prefix}{i}", t, dataset_id=dataset_id or None, labels=[label])
        for i, t in enumerate(texts)
    ]


def _train(model: Model, params_file: Path, **edits: Any) -> str:
    """get_params -> edit the YAML -> train, as the SDK's documentation does."""
    params = model.get_params(save_to=str(params_file))
    for key, value in edits.items():
        if key in params["train_params"]:
            params["train_params"][key] = value
        else:
            params[key] = value
    params_file.write_text(yaml.safe_dump(params))
    version_id: str = model.train(str(params_file))
    return version_id


def _wait(model: Model, version_id: str) -> list[int]:
    """The states the SDK's training_status reports, in order, until training ends."""
    seen: list[int] = []
    for _ in range(3000):
        code = model.training_status(version_id=version_id).code
        if not seen or seen[-1] != code:
            seen.append(code)
        if code not in (QUEUED, TRAINING):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"training did not finish: {seen}")


def _scores(model: Model, texts: list[str]) -> list[dict[str, float]]:
    found = []
    for text in texts:
        response = model.predict_by_bytes(text.encode(), "text")
        found.append({c.id: c.value for c in response.outputs[0].data.concepts})
    return found


def test_text_flow_get_params_train_status_predict_versions(
    running: BobsServer, user: User, tmp_path: Path
) -> None:
    app = user.create_app(app_id="topics")
    inputs = app.inputs()
    inputs.upload_inputs(
        _text_inputs(SPORTS, "sports", "s") + _text_inputs(COOKING, "cooking", "c")
    )
    assert {c.id for c in app.list_concepts()} == {"sports", "cooking"}
    assert len(list(inputs.list_inputs())) == 12
    assert len(list(inputs.list_inputs(page_no=2, per_page=5))) == 5
    model = app.create_model("topic", model_type_id="embedding-classifier")

    params = model.get_params(save_to=str(tmp_path / "params.yaml"))
    assert params["concepts"] == [] and params["dataset_version_id"] == ""
    assert params["train_params"]["C"] == 10.0 and params["train_params"]["max_iter"] == 1000
    assert params["train_params"]["class_weight"] == "balanced"
    assert params["concepts_mutually_exclusive"] is False
    assert "C" in str(model.get_param_info("C"))

    first = _train(
        model, tmp_path / "params.yaml", concepts=["sports", "cooking"],
        concepts_mutually_exclusive=True, C=5.0,
    )  # fmt: skip
    states = _wait(model, first)
    assert states[-1] == TRAINED
    assert states == [s for s in (QUEUED, TRAINING, TRAINED) if s in states]  # in order

    pinned = _model(running, "topics", "topic", first)
    sports, cooking = _scores(pinned, HELD_OUT)
    assert sports["sports"] > 0.5 > sports["cooking"] and cooking["cooking"] > 0.5
    assert sports["sports"] + sports["cooking"] == pytest.approx(1.0, abs=1e-5)  # one softmax
    latest = _model(running, "topics", "topic")
    response = latest.predict_by_bytes(HELD_OUT[0].encode(), "text")
    assert response.outputs[0].model.model_version.id == first
    assert {c.app_id for c in response.outputs[0].data.concepts} == {"topics"}

    inputs.upload_inputs(
        _text_inputs(MORE_SPORTS, "sports", "ms") + _text_inputs(MORE_COOKING, "cooking", "mc")
    )
    both = Inputs.get_text_input("both", "The team grilled burgers after the match.",
                                 labels=["sports", "cooking"])  # fmt: skip
    inputs.upload_inputs([both])
    with pytest.raises(Exception, match=r"(?s)MODEL_INVALID_ARGUMENT.*more than one.*both"):
        _train(_model(running, "topics", "topic"), tmp_path / "x.yaml",
               concepts=["sports", "cooking"], concepts_mutually_exclusive=True)  # fmt: skip
    second_model = _model(running, "topics", "topic")
    second = _train(second_model, tmp_path / "again.yaml", concepts=["sports", "cooking"])
    assert _wait(_model(running, "topics", "topic", second), second)[-1] == TRAINED
    independent = _model(running, "topics", "topic", second)
    sports_2, cooking_2 = _scores(independent, HELD_OUT)
    assert sports_2["sports"] > sports_2["cooking"] and cooking_2["cooking"] > cooking_2["sports"]
    independent.load_info()
    training = independent.model_info.model_version.metadata["training"]
    assert training["concepts_mutually_exclusive"] is False and "both" in training["inputs"]
    assert _scores(pinned, HELD_OUT) == [sports, cooking]  # the first version is unchanged

    versions = [v.model_info.model_version.id for v in model.list_versions()]
    assert versions == [second, first]
    model.delete_version(second)
    assert [v.model_info.model_version.id for v in model.list_versions()] == [first]
    response = _model(running, "topics", "topic").predict_by_bytes(b"A goal!", "text")
    assert response.outputs[0].model.model_version.id == first


def test_image_flow_through_a_dataset_version(
    running: BobsServer, user: User, tmp_path: Path
) -> None:
    app = user.create_app(app_id="photos")
    dataset = app.create_dataset(dataset_id="pets")
    cats, cups = photo_variants(data.chelsea()), photo_variants(data.coffee())
    inputs = app.inputs()
    for i, image in enumerate(cats[:4]):
        inputs.upload_from_bytes(f"cat{i}", image_bytes=image, dataset_id="pets", labels=["cat"])
    for i, image in enumerate(cups[:4]):
        inputs.upload_from_bytes(f"cup{i}", image_bytes=image, dataset_id="pets", labels=["cup"])
    assert app.get_input_count() == 8
    assert len(list(dataset.list_inputs(input_type="image"))) == 8
    version = dataset.create_version(description="eight photos")
    version_id = version.version.id

    model = app.create_model("things", model_type_id="embedding-classifier")
    trained = _train(
        model, tmp_path / "things.yaml", concepts=["cat", "cup"], dataset_id="pets",
        dataset_version_id=version_id,
    )  # fmt: skip
    assert _wait(model, trained)[-1] == TRAINED
    pinned = _model(running, "photos", "things", trained)
    for held_out, concept, other in ((cats[4], "cat", "cup"), (cups[4], "cup", "cat")):
        response = pinned.predict_by_bytes(held_out, "image")
        scores = {c.id: c.value for c in response.outputs[0].data.concepts}
        assert scores[concept] > scores[other]
    assert _version_inputs(model, trained) == 8
    assert [v.model_info.model_version.id for v in model.list_versions()] == [trained]


class _PhotoLoader(ClarifaiDataLoader):  # type: ignore[misc]  # the SDK's base class is untyped
    """A dataloader as the SDK's docs write one: image files with their labels."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    @property
    def task(self) -> str:
        return "visual_classification"

    def load_data(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> VisualClassificationFeatures:
        path, label = self.items[index]
        image = Path(path).read_bytes()
        return VisualClassificationFeatures(image_path=path, labels=[label], id=index,
                                            image_bytes=image)  # fmt: skip


# The SDK's get_input_from_file reads with open(...).read() and leaves the file to the GC.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_upload_dataset_from_file_and_url_then_train_on_the_live_dataset(
    running: BobsServer, user: User, tmp_path: Path, file_server: tuple[str, Path]
) -> None:
    app = user.create_app(app_id="uploads")
    dataset = app.create_dataset(dataset_id="things")
    cats, cups = photo_variants(data.chelsea()), photo_variants(data.coffee())
    items = []
    for name, images, label in (("cat", cats, "cat"), ("cup", cups, "cup")):
        for i, image in enumerate(images[:3]):
            (tmp_path / f"{name}{i}.jpg").write_bytes(image)
            items.append((str(tmp_path / f"{name}{i}.jpg"), label))
    dataset.upload_dataset(dataloader=_PhotoLoader(items), batch_size=4)
    assert len(list(dataset.list_inputs())) == 6
    base, root = file_server
    (root / "cup3.jpg").write_bytes(cups[3])
    inputs = app.inputs()
    inputs.upload_from_url("cup-url", image_url=f"{base}/cup3.jpg", dataset_id="things",
                           labels=["cup"])  # fmt: skip
    (tmp_path / "cat3.jpg").write_bytes(cats[3])
    inputs.upload_from_file("cat-file", image_file=str(tmp_path / "cat3.jpg"),
                            dataset_id="things", labels=["cat"])  # fmt: skip
    listed = {i.id: i for i in dataset.list_inputs()}
    assert len(listed) == 8 and listed["cup-url"].data.image.image_info.format == "JPEG"
    assert listed["things-0"].data.metadata["filename"] == "cat0.jpg"
    model = app.create_model("things", model_type_id="embedding-classifier")
    trained = _train(model, tmp_path / "p.yaml", concepts=["cat", "cup"], dataset_id="things")
    assert _wait(model, trained)[-1] == TRAINED
    assert _version_inputs(model, trained) == 8
    pinned = _model(running, "uploads", "things", trained)
    for held_out, concept, other in ((cats[4], "cat", "cup"), (cups[4], "cup", "cat")):
        scores = {
            c.id: c.value
            for c in pinned.predict_by_bytes(held_out, "image").outputs[0].data.concepts
        }
        assert scores[concept] > scores[other]


def _csv(path: Path, rows: list[tuple[str, str, str]]) -> str:
    with path.open("w", newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_ALL)
        writer.writerow(["inputid", "input", "concepts"])
        writer.writerows(rows)
    return str(path)


def _version_inputs(model: Model, version_id: str) -> int:
    pinned = Model(url=_url(model.app_id, model.id, version_id), pat=model.pat, base_url=model.base)
    pinned.load_info()
    count: int = pinned.model_info.model_version.total_input_count
    return count


def test_dataset_versions_are_frozen_snapshots(
    running: BobsServer, user: User, tmp_path: Path
) -> None:
    app = user.create_app(app_id="corpus")
    dataset = app.create_dataset(dataset_id="news")
    rows = [(f"s{i}", t, "sports") for i, t in enumerate(SPORTS)]
    rows += [(f"c{i}", t, "cooking") for i, t in enumerate(COOKING)]
    dataset.upload_from_csv(_csv(tmp_path / "a.csv", rows), input_type="text", csv_type="raw")
    first = dataset.create_version(description="twelve").version.id
    more = [(f"ms{i}", t, "sports") for i, t in enumerate(MORE_SPORTS)]
    more += [(f"mc{i}", t, "cooking") for i, t in enumerate(MORE_COOKING)]
    dataset.upload_from_csv(_csv(tmp_path / "b.csv", more), input_type="text", csv_type="raw")
    second = dataset.create_version(description="sixteen").version.id
    assert [d.version.id for d in dataset.list_versions()] == [second, first]

    model = app.create_model("topic", model_type_id="embedding-classifier")
    trained = {}
    for version_id in (first, second):
        trained[version_id] = _train(
            _model(running, "corpus", "topic"), tmp_path / f"{version_id}.yaml",
            concepts=["sports", "cooking"], dataset_id="news", dataset_version_id=version_id,
        )  # fmt: skip
        assert _wait(_model(running, "corpus", "topic", trained[version_id]),
                     trained[version_id])[-1] == TRAINED  # fmt: skip
    assert _version_inputs(model, trained[first]) == 12
    assert _version_inputs(model, trained[second]) == 16
    before = _scores(_model(running, "corpus", "topic", trained[first]), HELD_OUT)

    inputs = app.inputs()
    inputs.delete_inputs([i for i in inputs.list_inputs() if i.id.startswith("s")])
    assert len(list(dataset.list_inputs())) == 10
    again = _train(
        _model(running, "corpus", "topic"), tmp_path / "again.yaml",
        concepts=["sports", "cooking"], dataset_id="news", dataset_version_id=first,
    )  # fmt: skip
    assert _wait(_model(running, "corpus", "topic", again), again)[-1] == TRAINED
    assert _version_inputs(model, again) == 12  # the version still holds the deleted inputs
    retrained = _scores(_model(running, "corpus", "topic", again), HELD_OUT)
    for old, new in zip(before, retrained, strict=True):
        for concept in old:
            assert new[concept] == pytest.approx(old[concept], abs=1e-4)


def test_concepts_and_input_patches(running: BobsServer, user: User) -> None:
    app = user.create_app(app_id="labels")
    app.create_concepts(["dog", "cat"], ["Dog", "Cat"])
    with pytest.raises(Exception, match="already exist"):
        app.create_concepts(["dog"])
    inputs = app.inputs()
    metadata = resources_pb2.Data().metadata
    metadata.update({"source": "test"})
    inputs.upload_text("t1", "A puppy barks at the mailman.", labels=["dog"], metadata=metadata)
    inputs.patch_inputs(
        [resources_pb2.Input(id="t1", data=resources_pb2.Data(
            concepts=[resources_pb2.Concept(id="cat", value=1.0)]))],
        action="overwrite",
    )  # fmt: skip
    stored = inputs.get_input("t1")
    assert [(c.id, c.value) for c in stored.data.concepts] == [("cat", 1.0)]
    assert stored.data.metadata["source"] == "test"
    inputs.patch_concepts(["dog"], ["Hound"])
    assert {c.id: c.name for c in app.list_concepts()} == {"cat": "Cat", "dog": "Hound"}

    dataset = app.create_dataset(dataset_id="pets")

    def call(method: str, **fields: Any) -> Any:
        request = getattr(service_pb2, f"{method}Request")(user_app_id=inputs.user_app_id, **fields)
        return dataset._grpc_request(getattr(dataset.STUB, method), request)

    def one(input_id: str) -> list[Any]:
        return [resources_pb2.DatasetInput(input=resources_pb2.Input(id=input_id))]

    added = call("PostDatasetInputs", dataset_id="pets", dataset_inputs=one("t1"))
    assert added.status.code == 10000 and len(list(dataset.list_inputs())) == 1
    unknown = call("PostDatasetInputs", dataset_id="pets", dataset_inputs=one("nope"))
    assert unknown.status.code == 11101 and "nope" in unknown.status.details
    removed = call("DeleteDatasetInputs", dataset_id="pets", input_ids=["t1"])
    assert removed.status.code == 10000 and list(dataset.list_inputs()) == []
    assert [d.id for d in app.list_datasets()] == ["pets"]
    app.delete_dataset("pets")
    assert list(app.list_datasets()) == [] and inputs.get_input("t1").id == "t1"


def test_bad_training_requests_have_a_clear_status_and_create_nothing(
    running: BobsServer, user: User, tmp_path: Path
) -> None:
    app = user.create_app(app_id="mistakes")
    app.inputs().upload_inputs(_text_inputs(SPORTS, "sports", "s"))
    app.create_concepts(["chess"])
    other = user.create_app(app_id="elsewhere")
    other.inputs().upload_inputs(_text_inputs(COOKING, "cooking", "c", dataset_id=""))
    foreign = other.create_dataset(dataset_id="d")
    foreign_version = foreign.create_version().version.id
    model = app.create_model("topic", model_type_id="embedding-classifier")
    yaml_file = tmp_path / "bad.yaml"
    cases: list[tuple[dict[str, Any], str]] = [
        ({"concepts": ["sports", "chess"]}, r"(?s)MODEL_TRAINING_NO_POSITIVES.*chess"),
        (
            {"concepts": ["sports"], "learning_rate": 0.1},
            r"(?s)MODEL_INVALID_ARGUMENT.*Unknown train_info.params: learning_rate",
        ),
        (
            {"concepts": ["sports"], "max_iter": -3},
            r"(?s)MODEL_INVALID_ARGUMENT.*max_iter must be between 1 and",
        ),
        (
            {"concepts": ["sports"], "dataset_id": "d", "dataset_version_id": foreign_version},
            r"(?s)MODEL_INVALID_ARGUMENT.*Dataset version .* does not exist",
        ),
    ]
    for edits, expected in cases:
        params = model.get_params(save_to=str(yaml_file))
        params.update({k: v for k, v in edits.items() if k in params})
        params["train_params"].update({k: v for k, v in edits.items() if k not in params})
        yaml_file.write_text(yaml.safe_dump(params))
        with pytest.raises(Exception, match=expected):
            model.train(str(yaml_file))
    params = model.get_params(save_to=str(yaml_file))
    params["concepts"] = ["unicorn"]
    yaml_file.write_text(yaml.safe_dump(params))
    with pytest.raises(AssertionError, match="Invalid concept IDs"):  # the SDK checks first
        model.train(str(yaml_file))
    version = resources_pb2.ModelVersion()
    version.output_info.data.concepts.add(id="unicorn")
    request = service_pb2.PostModelVersionsRequest(
        user_app_id=model.user_app_id, model_id="topic", model_versions=[version]
    )
    response = model._grpc_request(model.STUB.PostModelVersions, request)
    assert response.status.code == 21202 and "unicorn" in response.status.details
    assert list(model.list_versions()) == []
    too_many = service_pb2.DeleteInputsRequest(
        user_app_id=model.user_app_id, ids=[str(i) for i in range(1001)]
    )
    response = model._grpc_request(model.STUB.DeleteInputs, too_many)
    assert response.status.code == 11102 and "at most 1000" in response.status.details
    assert len(list(app.inputs().list_inputs())) == len(SPORTS)
    duplicate = app.inputs().upload_inputs(_text_inputs(SPORTS[:1], "sports", "s"), show_log=False)
    assert duplicate[1].status.code == 11102 and "already exist" in duplicate[1].status.details


def test_clarion_sdk_trains_on_a_frozen_dataset_version(running: BobsServer) -> None:
    from clarion.client import App

    app = App("own-sdk", pat=running.bob, base_url=running.grpc_url).create()
    app.create_concepts(["sports", "cooking"])
    app.add_inputs(
        [App.text_input(t, ["sports"], [], f"s{i}") for i, t in enumerate(SPORTS)]
        + [App.text_input(t, ["cooking"], [], f"c{i}") for i, t in enumerate(COOKING)]
    )
    app.create_model("topic", ["sports", "cooking"])
    app.create_dataset("news")
    app.add_to_dataset("news", [f"s{i}" for i in range(3)] + [f"c{i}" for i in range(3)])
    frozen = app.create_dataset_version("news", "six")
    app.delete_inputs(["s0"])
    version = app.train(
        "topic", exclusive=True, C=5.0, dataset_id="news", dataset_version_id=frozen.id
    )
    assert version.total_input_count == 6
    with app.model("topic", version.id) as model:
        scores = model.predict([App.text_input(HELD_OUT[0])]).outputs[0].data.concepts
    values = {c.id: c.value for c in scores}
    assert values["sports"] > values["cooking"]
    assert sum(values.values()) == pytest.approx(1.0, abs=1e-5)
    assert {c.id for c in app.list_concepts()} == {"sports", "cooking"}
    with pytest.raises(Exception, match=r"Unknown train_info\.params: epochs"):
        app.train("topic", epochs=3)


def test_the_rest_mapping_of_concepts_datasets_and_model_types(running: BobsServer) -> None:
    import httpx

    base = f"{running.rest_url}/v2/users/bob/apps/rest-app"
    headers = {"Authorization": f"Key {running.bob}"}
    with httpx.Client(headers=headers, timeout=30) as http:
        created = http.post(
            f"{running.rest_url}/v2/users/bob/apps", json={"apps": [{"id": "rest-app"}]}
        )
        assert created.status_code == 200, created.text
        concepts = http.post(f"{base}/concepts", json={"concepts": [{"id": "a", "name": "A"}]})
        assert concepts.status_code == 200 and concepts.json()["concepts"][0]["name"] == "A"
        assert http.patch(f"{base}/concepts", json={"action": "overwrite", "concepts": [
            {"id": "a", "name": "Aa"}]}).status_code == 200  # fmt: skip
        assert http.get(f"{base}/concepts/a").json()["concept"]["name"] == "Aa"
        labelled = {"text": {"raw": "hi"}, "concepts": [{"id": "a", "value": 1}]}
        posted = http.post(
            f"{base}/inputs",
            json={"inputs_add_job_id": "job1", "inputs": [{"id": "i1", "data": labelled}]},
        )
        assert posted.status_code == 200
        assert int(http.get(f"{base}/inputs/status").json()["counts"]["processed"]) == 1
        job = http.get(f"{base}/inputs/jobs/add/job1").json()["inputs_add_job"]
        assert int(job["progress"]["success_count"]) == 1
        assert http.get(f"{base}/inputs/i1").json()["input"]["data"]["text"]["raw"] == "hi"
        assert http.post(f"{base}/datasets", json={"datasets": [{"id": "d"}]}).status_code == 200
        added = http.post(
            f"{base}/datasets/d/inputs", json={"dataset_inputs": [{"input": {"id": "i1"}}]}
        )
        assert added.status_code == 200, added.text
        version = http.post(f"{base}/datasets/d/versions", json={"dataset_versions": [{}]})
        version_id = version.json()["dataset_versions"][0]["id"]
        listed = http.get(f"{base}/datasets/d/versions").json()["dataset_versions"]
        assert [v["id"] for v in listed] == [version_id]
        types = http.get(f"{base}/models/types").json()["model_types"]
        trainable = next(t for t in types if t["id"] == "embedding-classifier")
        assert trainable["trainable"] is True
        paths = {f["path"] for f in trainable["model_type_fields"]}
        assert "train_info.params.C" in paths
        missing = http.post(f"{base}/datasets/nope/versions", json={})
        assert missing.status_code == 404 and "nope" in missing.json()["status"]["details"]
        public = http.post(f"{running.rest_url}/v2/users/clarion/apps/main/concepts",
                           json={"concepts": [{"id": "x"}]})  # fmt: skip
        assert public.status_code == 403
        anonymous = httpx.get(f"{base}/concepts")
        assert anonymous.status_code == 401


def test_another_users_concepts_datasets_and_jobs_are_invisible(running: BobsServer) -> None:
    from clarifai.client.app import App as SdkApp

    intruder = SdkApp(app_id="corpus", user_id="bob", pat=running.pat, base_url=running.grpc_url)
    ids = intruder.user_app_id
    for method, fields in (
        ("ListConcepts", {}),
        ("GetConcept", {"concept_id": "sports"}),
        ("ListDatasets", {}),
        ("GetDataset", {"dataset_id": "news"}),
        ("ListDatasetVersions", {"dataset_id": "news"}),
        ("ListDatasetInputs", {"dataset_id": "news"}),
        ("PostDatasetVersions", {"dataset_id": "news"}),
        ("DeleteDatasets", {"dataset_ids": ["news"]}),
        ("PostConcepts", {"concepts": [resources_pb2.Concept(id="x")]}),
        ("GetInputCount", {}),
        ("GetInputsAddJob", {"id": "job"}),
    ):
        request = getattr(service_pb2, f"{method}Request")(user_app_id=ids, **fields)
        response = intruder._grpc_request(getattr(intruder.STUB, method), request)
        assert response.status.code == 11101, (method, response.status)
    owner = User(user_id="bob", pat=running.bob, base_url=running.grpc_url)
    assert len(list(owner.app(app_id="corpus").dataset(dataset_id="news").list_versions())) == 2


def test_restart_keeps_concepts_datasets_and_versions_and_delete_app_removes_them(
    running: BobsServer, user: User, home: Path
) -> None:
    corpus = user.app(app_id="corpus")
    versions = [d.version.id for d in corpus.dataset(dataset_id="news").list_versions()]
    assert len(versions) == 2
    frozen = home / "dataset-versions"
    photos_version = next(iter(user.app(app_id="photos").dataset("pets").list_versions()))
    assert len(list((frozen / photos_version.version.id).iterdir())) == 8
    pat = running.bob
    running.stop()
    with ServerThread(make_settings(home)) as again:
        after = User(user_id="bob", pat=pat, base_url=again.grpc_url)
        corpus = after.app(app_id="corpus")
        assert {c.id for c in corpus.list_concepts()} == {"sports", "cooking"}
        dataset = corpus.dataset(dataset_id="news")
        assert [d.version.id for d in dataset.list_versions()] == versions
        photos = after.app(app_id="photos")
        model = Model(url=_url("photos", "things"), pat=pat, base_url=again.grpc_url)
        cat = photo_variants(data.chelsea())[4]
        scores = model.predict_by_bytes(cat, "image").outputs[0].data.concepts
        assert max(scores, key=lambda c: c.value).id == "cat"
        after.delete_app("photos")
        assert not (frozen / photos_version.version.id).exists()
        assert "photos" not in {a.id for a in after.list_apps()}
        del photos
