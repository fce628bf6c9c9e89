"""The official `clarifai` SDK against a real Clarion server, changing only base_url and PAT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from clarifai.client.input import Inputs
from clarifai.client.model import Model
from clarifai_grpc.grpc.api import service_pb2

from clarion.server_thread import ServerThread

pytestmark = pytest.mark.slow

SEED_TEXT = (
    "In India Green Revolution commenced in the early 1960s that led to an increase in food "
    "grain production, especially in Punjab, Haryana, and Uttar Pradesh."
)


def _model(server: ServerThread, pat: str | None = None) -> Model:
    return Model(
        url="https://clarifai.com/clarion/main/models/all-minilm-l6-v2",
        pat=pat or server.pat,
        base_url=server.grpc_url,
    )


def _vector(response: service_pb2.MultiOutputResponse) -> np.ndarray:
    return np.array(response.outputs[0].data.embeddings[0].vector)


def test_seed_base_url_example_returns_an_embedding(server: ServerThread) -> None:
    prediction = _model(server).predict_by_bytes(SEED_TEXT, "text")
    embedding = prediction.outputs[0].data.embeddings[0]
    assert embedding.num_dimensions == 384 and len(embedding.vector) == 384
    assert abs(np.linalg.norm(embedding.vector) - 1.0) < 1e-4


def test_batch_of_16_inputs_in_one_predict(server: ServerThread) -> None:
    prompt = "What's the future of AI?"
    protos = [
        Inputs.get_input_from_bytes(input_id=f"demo_{i}", text_bytes=prompt.encode())
        for i in range(16)
    ]
    prediction = _model(server).predict(protos)
    assert len(prediction.outputs) == 16
    assert [o.input.id for o in prediction.outputs] == [f"demo_{i}" for i in range(16)]
    vectors = np.array([o.data.embeddings[0].vector for o in prediction.outputs])
    np.testing.assert_allclose(vectors, vectors[:1].repeat(16, axis=0), atol=1e-5)


def test_predict_by_filepath_and_url(
    server: ServerThread, file_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = file_server
    (root / "seed.txt").write_text(SEED_TEXT)
    path = tmp_path / "seed.txt"
    path.write_text(SEED_TEXT)
    model = _model(server)
    by_bytes = _vector(model.predict_by_bytes(SEED_TEXT, "text"))
    by_file = _vector(model.predict_by_filepath(str(path), input_type="text"))
    by_url = _vector(model.predict_by_url(f"{base}/seed.txt", input_type="text"))
    np.testing.assert_allclose(by_file, by_bytes, atol=1e-5)
    np.testing.assert_allclose(by_url, by_bytes, atol=1e-5)


def test_list_versions_terminates(server: ServerThread) -> None:
    versions = list(_model(server).list_versions())
    assert len(versions) == 1 and len(versions[0].model_version.id) == 32


def test_predict_by_version_url(server: ServerThread) -> None:
    version_id = next(iter(_model(server).list_versions())).model_version.id
    model = Model(
        url=f"https://clarifai.com/clarion/main/models/all-minilm-l6-v2/versions/{version_id}",
        pat=server.pat,
        base_url=server.grpc_url,
    )
    prediction = model.predict_by_bytes("hello", "text")
    assert prediction.outputs[0].model.model_version.id == version_id


def test_a_wrong_pat_raises(server: ServerThread) -> None:
    with pytest.raises(Exception, match=r"11009|not known|CONN_KEY_NOT_FOUND"):
        _model(server, pat="0" * 32).predict_by_bytes("hello", "text")
