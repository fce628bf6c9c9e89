"""general-image-recognition answers broader WordNet concepts ("cat", "animal") as well."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_code_pb2
from google.protobuf import json_format
from PIL import Image
from skimage import data

from clarion.catalog.builtin import BuiltinModel
from clarion.catalog.efficientnet import IMAGE_RECOGNITION
from clarion.catalog.general_concepts import TABLE_PATH, general_concepts
from clarion.catalog.imagenet import imagenet_concepts
from clarion.client.channel import V2Client
from clarion.config import Settings
from clarion.domain.values import Input, InputKind
from clarion.registry import Registry
from clarion.runners import RUNNER_FACTORIES
from clarion.runtime import Deployment, LocalBackend
from tests.conftest import Metadata

pytestmark = pytest.mark.slow

USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
RECOGNITION = "general-image-recognition"
TABLE = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
PHOTOS = ("chelsea", "coffee", "rocket", "astronaut")


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    encoded = {}
    for name in PHOTOS:
        buffer = io.BytesIO()
        Image.fromarray(getattr(data, name)()).convert("RGB").save(buffer, format="JPEG")
        encoded[name] = buffer.getvalue()
    return encoded


def _predict(
    client: V2Client, metadata: Metadata, photo: bytes, **config: Any
) -> resources_pb2.Output:
    model = resources_pb2.Model()
    json_format.ParseDict(config, model.model_version.output_info.output_config)
    image = resources_pb2.Input(data=resources_pb2.Data(image=resources_pb2.Image(base64=photo)))
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP, model_id=RECOGNITION, inputs=[image], model=model
    )
    response: service_pb2.MultiOutputResponse = client.PostModelOutputs(request, metadata=metadata)
    assert response.status.code == status_code_pb2.SUCCESS, response.status
    return response.outputs[0]


def test_the_table_is_curated_and_matches_the_classes() -> None:
    names = [c.name for c in general_concepts()]
    assert TABLE["classes"] == [c.id for c in imagenet_concepts()]
    assert {"cat", "dog", "animal", "bird", "vehicle", "car", "train", "food", "drink"} <= set(
        names
    )
    assert not {"entity", "physical entity", "object", "whole", "artifact"} & set(names)
    assert not set(names) & {c.name for c in imagenet_concepts()}
    assert all(c.id.startswith("n") and len(c.id) == 9 for c in general_concepts())
    cat = next(c for c in TABLE["concepts"] if c["name"] == "cat")
    assert cat["id"] == "n02121808" and 281 in cat["leaves"]  # domestic cat has the tabby


def test_each_general_value_is_the_sum_of_its_leaves(
    client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    every = [{"id": c.id} for c in imagenet_concepts() + general_concepts()]
    for name, photo in photos.items():
        output = _predict(client, metadata, photo, select_concepts=every)
        values = {c.id: c.value for c in output.data.concepts}
        assert len(values) == 1000 + len(general_concepts()), name
        leaf_ids = TABLE["classes"]
        assert sum(values[i] for i in leaf_ids) == pytest.approx(1.0, abs=1e-4)
        for concept in TABLE["concepts"]:
            leaves = sum(values[leaf_ids[i]] for i in concept["leaves"])
            assert values[concept["id"]] == pytest.approx(min(leaves, 1.0), abs=1e-5), (
                name,
                concept["name"],
            )


def test_the_cat_photo_answers_cat_and_animal_in_its_top_5(
    client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    top5 = [
        c.name for c in _predict(client, metadata, photos["chelsea"], max_concepts=5).data.concepts
    ]
    assert {"cat", "animal"} <= set(top5), top5
    coffee = [
        c.name for c in _predict(client, metadata, photos["coffee"], max_concepts=5).data.concepts
    ]
    assert "drink" in coffee and "espresso" in coffee, coffee
    rocket = [
        c.name for c in _predict(client, metadata, photos["rocket"], max_concepts=5).data.concepts
    ]
    assert "animal" not in rocket, rocket


def test_select_concepts_by_general_name_and_id(
    client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    selected = [{"name": "cat"}, {"name": "vehicle"}, {"id": "n00015388"}, {"name": "tabby cat"}]
    output = _predict(client, metadata, photos["chelsea"], select_concepts=selected)
    values = {c.name: c.value for c in output.data.concepts}
    assert set(values) == {"cat", "vehicle", "animal", "tabby cat"}
    assert values["animal"] >= values["cat"] > 0.5 > 0.05 > values["vehicle"]
    assert values["cat"] >= values["tabby cat"]
    only = _predict(
        client, metadata, photos["chelsea"], select_concepts=selected, min_value=0.5, max_concepts=1
    )
    assert [c.name for c in only.data.concepts] == ["animal"]


def test_output_info_and_list_concepts_name_every_general_concept(
    client: V2Client, metadata: Metadata
) -> None:
    info = client.GetModelOutputInfo(
        service_pb2.GetModelRequest(user_app_id=USER_APP, model_id=RECOGNITION), metadata=metadata
    )
    listed = [(c.id, c.name) for c in info.model.output_info.data.concepts]
    assert listed[1000:] == [(c.id, c.name) for c in general_concepts()]
    page = client.ListModelConcepts(
        service_pb2.ListModelConceptsRequest(
            user_app_id=USER_APP, model_id=RECOGNITION, page=2, per_page=1000
        ),
        metadata=metadata,
    )
    assert [(c.id, c.name) for c in page.concepts] == listed[1000:]


def test_the_version_before_general_concepts_still_answers_1000_classes(
    settings: Settings,
) -> None:
    def leaves_only(s: Settings) -> dict[str, Any]:
        spec = IMAGE_RECOGNITION.locate(s)
        del spec["general_concepts_path"]
        return spec

    before = BuiltinModel(
        model_id=RECOGNITION, model_type_id="visual-classifier", name="", description="",
        runner=IMAGE_RECOGNITION.runner, locate=leaves_only, digest_keys=("weights_path",),
        concepts=imagenet_concepts,
    )  # fmt: skip
    registry = Registry.open(settings.resolved_database_url)
    model = registry.ensure_model("clarion", "main", RECOGNITION, model_type_id="visual-classifier")
    versions = []
    for builtin in (before, IMAGE_RECOGNITION):
        spec = builtin.spec(settings)
        concepts = builtin.concepts() if builtin.concepts else ()
        versions.append(
            registry.ensure_version(
                model, builtin.version_id(spec), runner=builtin.runner, spec=spec, concepts=concepts
            )
        )
    old, new = versions
    assert old.id != new.id  # the concept table is part of the version's content
    assert len(registry.concepts(old.id)) == 1000
    assert len(registry.concepts(new.id)) == 1000 + len(general_concepts())
    image = Image.fromarray(data.chelsea())

    async def scores() -> list[np.ndarray]:
        pool = LocalBackend(RUNNER_FACTORIES, settings)
        try:
            found = []
            for version in (old, new):
                (output,) = await pool.predict(
                    Deployment.of(model, version), [Input("cat", InputKind.IMAGE, image=image)]
                )
                assert output.scores is not None
                found.append(output.scores)
            return found
        finally:
            await pool.close()

    old_scores, new_scores = asyncio.run(scores())
    assert old_scores.shape == (1000,) and new_scores.shape == (1000 + len(general_concepts()),)
    np.testing.assert_allclose(old_scores, new_scores[:1000], rtol=1e-5, atol=1e-7)
    registry.close()


def test_table_file_is_shipped_with_its_license() -> None:
    licenses = Path(TABLE_PATH).parent.parent / "licenses"
    assert "Princeton University" in (licenses / "WordNet-3.0.LICENSE").read_text()
    assert "Apache License" in (licenses / "Qwen2.5-Coder-1.5B-Instruct.LICENSE").read_text()
