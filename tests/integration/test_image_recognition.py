"""general-image-recognition and general-image-embedding on real weights and real photos."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from clarifai.client.model import Model as ClarifaiModel
from clarifai_grpc.channel.clarifai_channel import ClarifaiChannel
from clarifai_grpc.grpc.api import resources_pb2, service_pb2, service_pb2_grpc
from clarifai_grpc.grpc.api.status import status_code_pb2
from google.protobuf import json_format
from PIL import Image
from skimage import data

from clarion.catalog.general_concepts import general_concepts
from clarion.catalog.imagenet import imagenet_concepts
from clarion.client.channel import V2Client
from clarion.server_thread import ServerThread
from tests.conftest import Metadata

pytestmark = pytest.mark.slow

USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
RECOGNITION = "general-image-recognition"
EMBEDDING = "general-image-embedding"
CAT_CLASSES = {"tabby cat", "tiger cat", "Egyptian Mau", "Persian cat", "Siamese cat", "lynx"}
CUP_CLASSES = {"espresso", "coffee mug", "tea cup", "cup"}
LEAF_IDS = {c.id for c in imagenet_concepts()}
ALL_CONCEPTS = 1000 + len(general_concepts())


def _jpeg(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    return {
        name: _jpeg(getattr(data, name)())
        for name in ("chelsea", "coffee", "rocket", "astronaut", "camera")
    }


def _image(raw: bytes = b"", url: str = "", input_id: str = "") -> resources_pb2.Input:
    image = resources_pb2.Image(base64=raw, url=url)
    return resources_pb2.Input(id=input_id, data=resources_pb2.Data(image=image))


def _model_with_config(**config: Any) -> resources_pb2.Model:
    model = resources_pb2.Model()
    json_format.ParseDict(config, model.model_version.output_info.output_config)
    return model


def _predict(
    client: V2Client,
    metadata: Metadata,
    inputs: list[resources_pb2.Input],
    model_id: str = RECOGNITION,
    **fields: Any,
) -> service_pb2.MultiOutputResponse:
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=USER_APP, model_id=model_id, inputs=inputs, **fields
    )
    response: service_pb2.MultiOutputResponse = client.PostModelOutputs(request, metadata=metadata)
    return response


def _names(output: Any) -> list[str]:
    return [c.name for c in output.data.concepts]


# recognition on real photos ---------------------------------------------------------------


def test_real_photos_top5(client: V2Client, metadata: Metadata, photos: dict[str, bytes]) -> None:
    names = list(photos)
    response = _predict(
        client, metadata, [_image(photos[n], input_id=n) for n in names],
        model=_model_with_config(max_concepts=5),
    )  # fmt: skip
    assert response.status.code == status_code_pb2.SUCCESS
    top5 = {o.input.id: _names(o) for o in response.outputs}
    for output in response.outputs:
        print(output.input.id, [(c.name, round(c.value, 3)) for c in output.data.concepts])
        assert len(output.data.concepts) == 5
        values = [c.value for c in output.data.concepts]
        assert values == sorted(values, reverse=True)
    assert CAT_CLASSES & set(top5["chelsea"])
    assert {"cat", "animal"} <= set(top5["chelsea"])
    assert CUP_CLASSES & set(top5["coffee"]) and "drink" in top5["coffee"]
    assert {"missile", "projectile", "space shuttle"} & set(top5["rocket"])


def test_concepts_have_synset_ids_and_readable_names(
    client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    response = _predict(client, metadata, [_image(photos["chelsea"])])
    concepts = {c.id: c.name for c in response.outputs[0].data.concepts}
    assert len(concepts) == 20  # the default max_concepts
    assert all(cid.startswith("n") and len(cid) == 9 for cid in concepts)
    assert concepts.get("n02123045", "tabby cat") == "tabby cat"
    total = _predict(
        client, metadata, [_image(photos["chelsea"])], model=_model_with_config(max_concepts=200)
    )
    leaves = [c for c in total.outputs[0].data.concepts if c.id in LEAF_IDS]
    assert 0.9 < sum(c.value for c in leaves) <= 1.0001  # the classes' softmax


def test_official_sdk_bytes_url_and_filepath(
    server: ServerThread, photos: dict[str, bytes], file_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = file_server
    (root / "chelsea.jpg").write_bytes(photos["chelsea"])
    path = tmp_path / "chelsea.jpg"
    path.write_bytes(photos["chelsea"])
    model = ClarifaiModel(
        url=f"https://clarifai.com/clarion/main/models/{RECOGNITION}",
        pat=server.pat,
        base_url=server.grpc_url,
    )
    by_bytes = model.predict_by_bytes(photos["chelsea"], input_type="image")
    by_url = model.predict_by_url(f"{base}/chelsea.jpg", input_type="image")
    by_file = model.predict_by_filepath(str(path), input_type="image")
    for prediction in (by_bytes, by_url, by_file):
        assert CAT_CLASSES & set(_names(prediction.outputs[0])[:5])
        assert _names(prediction.outputs[0]) == _names(by_bytes.outputs[0])
    configured = model.predict_by_bytes(
        photos["coffee"], input_type="image", output_config={"max_concepts": 3, "min_value": 0.001}
    )
    assert len(configured.outputs[0].data.concepts) == 3


def test_raw_grpc_with_version_id(server: ServerThread, photos: dict[str, bytes]) -> None:
    channel = ClarifaiChannel.get_insecure_grpc_channel(base="127.0.0.1", port=server.grpc_port)
    stub = service_pb2_grpc.V2Stub(channel)
    metadata = (("authorization", "Key " + server.pat),)
    model = stub.GetModel(
        service_pb2.GetModelRequest(user_app_id=USER_APP, model_id=RECOGNITION), metadata=metadata
    ).model
    response = stub.PostModelOutputs(
        service_pb2.PostModelOutputsRequest(
            user_app_id=USER_APP,
            model_id=RECOGNITION,
            version_id=model.model_version.id,
            inputs=[_image(photos["coffee"])],
        ),
        metadata=metadata,
    )
    assert response.status.code == status_code_pb2.SUCCESS
    assert response.outputs[0].model.model_version.id == model.model_version.id
    assert CUP_CLASSES & set(_names(response.outputs[0])[:3])


def test_batch_of_32_images(client: V2Client, metadata: Metadata, photos: dict[str, bytes]) -> None:
    inputs = [_image(photos[n], input_id=f"{n}{i}") for i in range(8) for n in list(photos)[:4]]
    response = _predict(client, metadata, inputs)
    assert response.status.code == status_code_pb2.SUCCESS and len(response.outputs) == 32
    tops = {o.input.id[:-1]: set(_names(o)[:3]) for o in response.outputs}
    assert CUP_CLASSES & tops["coffee"]


# embeddings -------------------------------------------------------------------------------


def test_image_embeddings(client: V2Client, metadata: Metadata, photos: dict[str, bytes]) -> None:
    mirrored = _jpeg(np.ascontiguousarray(data.chelsea()[:, ::-1]))
    inputs = [_image(photos["chelsea"]), _image(mirrored), _image(photos["coffee"])]
    response = _predict(client, metadata, inputs, model_id=EMBEDDING)
    vectors = np.array([o.data.embeddings[0].vector for o in response.outputs])
    assert vectors.shape == (3, 1280)
    assert response.outputs[0].data.embeddings[0].num_dimensions == 1280
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.1


# output config over gRPC and REST -----------------------------------------------------------


def _rest(server: ServerThread, photo: bytes, config: dict[str, Any]) -> dict[str, Any]:
    import base64

    body = {
        "inputs": [{"data": {"image": {"base64": base64.b64encode(photo).decode()}}}],
        "model": {"model_version": {"output_info": {"output_config": config}}},
    }
    response = httpx.post(
        f"{server.rest_url}/v2/users/clarion/apps/main/models/{RECOGNITION}/outputs",
        json=body,
        headers={"Authorization": "Key " + server.pat},
        timeout=60,
    )
    result: dict[str, Any] = response.json()
    return result


#: (code, description, details, [(id, name, value)]) of one answer.
Answer = tuple[int, str, str, list[tuple[str, str, float]]]


def _both(
    server: ServerThread, client: V2Client, metadata: Metadata, photo: bytes, config: dict[str, Any]
) -> tuple[Answer, Answer]:
    """(code, description, details, [(id, name, value)]) over gRPC, then over REST."""
    g = _predict(client, metadata, [_image(photo)], model=_model_with_config(**config))
    grpc_result = (
        g.status.code,
        g.status.description,
        g.status.details,
        [(c.id, c.name, c.value) for o in g.outputs for c in o.data.concepts],
    )
    r = _rest(server, photo, config)
    rest_result = (
        r["status"]["code"],
        r["status"]["description"],
        r["status"].get("details", ""),
        [
            (c.get("id", ""), c.get("name", ""), c["value"])
            for o in r.get("outputs", [])
            for c in o.get("data", {}).get("concepts", [])
        ],
    )
    return grpc_result, rest_result


def _same(a: list[tuple[str, str, float]], b: list[tuple[str, str, float]]) -> None:
    assert [x[:2] for x in a] == [x[:2] for x in b]
    np.testing.assert_allclose([x[2] for x in a], [x[2] for x in b], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "config, count",
    [({"max_concepts": 3}, 3), ({}, 20), ({"max_concepts": 200}, 200), ({"max_concepts": 1}, 1)],
)
def test_max_concepts(
    server: ServerThread,
    client: V2Client,
    metadata: Metadata,
    photos: dict[str, bytes],
    config: dict[str, Any],
    count: int,
) -> None:
    g, r = _both(server, client, metadata, photos["chelsea"], config)
    assert g[0] == r[0] == status_code_pb2.SUCCESS
    assert len(g[3]) == count
    _same(g[3], r[3])


@pytest.mark.parametrize(
    "config, fragment",
    [
        ({"max_concepts": 201}, "between 1 and 200"),
        ({"min_value": 1.5}, "within [0, 1]"),
        ({"min_value": -0.5}, "within [0, 1]"),
        ({"select_concepts": [{"id": "n99999999"}, {"name": "Tabby Cat"}]}, "'Tabby Cat'"),
    ],
)
def test_invalid_output_config(
    server: ServerThread,
    client: V2Client,
    metadata: Metadata,
    photos: dict[str, bytes],
    config: dict[str, Any],
    fragment: str,
) -> None:
    g, r = _both(server, client, metadata, photos["chelsea"], config)
    assert g[0] == r[0] == status_code_pb2.MODEL_INVALID_ARGUMENT
    assert fragment in g[2] and fragment in r[2]


def test_min_value(
    server: ServerThread, client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    g, r = _both(server, client, metadata, photos["coffee"], {"min_value": 0.01})
    assert g[3] and all(v >= 0.01 for _, _, v in g[3]) and len(g[3]) < 20
    _same(g[3], r[3])
    g, _ = _both(server, client, metadata, photos["coffee"], {"min_value": 0.0001})
    assert len(g[3]) == 20  # still capped by the default


def test_select_concepts_by_id_and_name(
    server: ServerThread, client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    config = {"select_concepts": [{"id": "n02123045"}, {"name": "espresso"}, {"name": "goldfish"}]}
    g, r = _both(server, client, metadata, photos["chelsea"], config)
    assert g[0] == r[0] == status_code_pb2.SUCCESS
    assert {name for _, name, _ in g[3]} == {"tabby cat", "espresso", "goldfish"}
    assert min(v for _, _, v in g[3]) < 0.001  # tiny values are still answered
    _same(g[3], r[3])


def test_select_with_min_value(
    server: ServerThread, client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    config = {"select_concepts": [{"name": "tabby cat"}, {"name": "goldfish"}], "min_value": 0.05}
    g, r = _both(server, client, metadata, photos["chelsea"], config)
    assert [name for _, name, _ in g[3]] == ["tabby cat"]
    _same(g[3], r[3])


def test_select_some_unknown_is_mixed_status(
    server: ServerThread, client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    config = {"select_concepts": [{"name": "tabby cat"}, {"id": "no-such-concept"}]}
    g, r = _both(server, client, metadata, photos["chelsea"], config)
    assert g[0] == r[0] == status_code_pb2.MIXED_STATUS
    assert "no-such-concept" in g[1] and "no-such-concept" in r[1]
    assert [name for _, name, _ in g[3]] == ["tabby cat"]


def test_select_concepts_on_an_embedder_is_refused(
    client: V2Client, metadata: Metadata, photos: dict[str, bytes]
) -> None:
    model = _model_with_config(select_concepts=[{"name": "tabby cat"}])
    response = _predict(client, metadata, [_image(photos["chelsea"])], EMBEDDING, model=model)
    assert response.status.code == status_code_pb2.MODEL_INVALID_ARGUMENT
    assert "no concepts" in response.status.details


# concepts listing ---------------------------------------------------------------------------


def test_output_info_lists_concepts_in_both_places(client: V2Client, metadata: Metadata) -> None:
    info = client.GetModelOutputInfo(
        service_pb2.GetModelRequest(user_app_id=USER_APP, model_id=RECOGNITION), metadata=metadata
    )
    assert len(info.model.output_info.data.concepts) == ALL_CONCEPTS
    assert len(info.model.model_version.output_info.data.concepts) == ALL_CONCEPTS
    assert info.model.output_info.data.concepts[281].name == "tabby cat"
    pages = [
        client.ListModelConcepts(
            service_pb2.ListModelConceptsRequest(
                user_app_id=USER_APP, model_id=RECOGNITION, page=page, per_page=400
            ),
            metadata=metadata,
        ).concepts
        for page in (1, 2, 3, 4)
    ]
    assert [len(p) for p in pages] == [400, 400, ALL_CONCEPTS - 800, 0]
    assert pages[0][281].id == "n02123045"


# bad inputs ---------------------------------------------------------------------------------


def test_bad_image_inputs_get_their_own_status(
    server: ServerThread,
    client: V2Client,
    metadata: Metadata,
    photos: dict[str, bytes],
    file_server: tuple[str, Path],
) -> None:
    base, root = file_server
    port = base.rsplit(":", 1)[1]
    (root / "chelsea.jpg").write_bytes(photos["chelsea"])
    (root / "big.bin").write_bytes(b"\0" * (3 * 1024 * 1024))
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, format="PNG")
    cases = {
        "good": (_image(photos["coffee"]), 10000, ""),
        "loopback": (_image(url=f"http://127.0.0.1:{port}/chelsea.jpg"), 30002, "loopback"),
        "metadata": (_image(url="http://169.254.169.254/latest/"), 30002, "link-local"),
        "private": (_image(url="http://10.0.0.1/x.jpg"), 30002, "private"),
        "redirect": (
            _image(url=f"{base}/redirect?to=http://127.0.0.1:{port}/chelsea.jpg"),
            30002,
            "loopback",
        ),
        "missing": (_image(url=f"{base}/nothing.jpg"), 30002, "HTTP 404"),
        "slow": (_image(url=f"{base}/slow"), 30002, "longer than"),
        "oversize": (_image(url=f"{base}/big.bin"), 30002, "limit"),
        "truncated": (_image(photos["chelsea"][:3000]), 30101, "decoded"),
        "garbage": (_image(b"not an image at all"), 30101, "not an image"),
        "bomb": (_image(bomb.getvalue()), 30104, "too large in pixels"),
        "text": (
            resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw="hi"))),
            30101,
            "image inputs",
        ),
    }
    inputs = []
    for name, (item, _, _) in cases.items():
        item.id = name
        inputs.append(item)
    response = _predict(client, metadata, inputs)
    assert response.status.code == status_code_pb2.MIXED_STATUS
    for output in response.outputs:
        _, code, fragment = cases[output.input.id]
        assert output.status.code == code, (output.input.id, output.status)
        assert fragment in output.status.details, (output.input.id, output.status.details)
    assert CUP_CLASSES & set(_names(response.outputs[0])[:3])
    again = _predict(client, metadata, [_image(photos["chelsea"])])
    assert again.status.code == status_code_pb2.SUCCESS
