"""The seed's "Add Root Certificate": TLS with a private CA, for both SDKs and REST."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest
from clarifai.client.model import Model as ClarifaiModel

from clarion.client import ClarionApiError, Model
from clarion.server_thread import ServerThread
from tests.certs import TlsFiles, make_tls_files
from tests.conftest import make_settings

pytestmark = pytest.mark.slow

MODEL_PATH = "clarion/main/models/all-minilm-l6-v2"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, tls: TlsFiles) -> Iterator[ServerThread]:
    settings = make_settings(
        tmp_path_factory.mktemp("tls-home"), tls_cert=tls.server_cert, tls_key=tls.server_key
    )
    with ServerThread(settings) as running:
        yield running


def test_clarion_sdk_with_root_certificate(tls_server: ServerThread, tls: TlsFiles) -> None:
    assert tls_server.grpc_url.startswith("https://")
    with Model(
        url=f"{tls_server.grpc_url}/{MODEL_PATH}",
        pat=tls_server.pat,
        base_url=tls_server.grpc_url,
        root_certificates_path=tls.ca_cert,
    ) as model:
        response = model.predict_by_bytes(b"secure hello", "text")
    assert response.outputs[0].data.embeddings[0].num_dimensions == 384


def test_clarion_sdk_without_the_root_certificate_fails(tls_server: ServerThread) -> None:
    with (
        Model(
            url=f"{tls_server.grpc_url}/{MODEL_PATH}",
            pat=tls_server.pat,
            base_url=tls_server.grpc_url,
        ) as model,
        pytest.raises(ClarionApiError) as info,
    ):
        model.predict_by_bytes(b"secure hello", "text", timeout=5)
    assert "UNAVAILABLE" in info.value.description


def test_official_sdk_with_root_certificate(tls_server: ServerThread, tls: TlsFiles) -> None:
    model = ClarifaiModel(
        url=f"https://clarifai.com/{MODEL_PATH}",
        pat=tls_server.pat,
        base_url=tls_server.grpc_url,
        root_certificates_path=str(tls.ca_cert),
    )
    prediction = model.predict_by_bytes("secure hello", "text")
    assert len(prediction.outputs[0].data.embeddings[0].vector) == 384


def test_rest_over_tls(tls_server: ServerThread, tls: TlsFiles) -> None:
    url = f"{tls_server.rest_url}/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs"
    body = {"inputs": [{"data": {"text": {"raw": "secure hello"}}}]}
    headers = {"Authorization": "Key " + tls_server.pat}
    with httpx.Client(verify=ssl.create_default_context(cafile=tls.ca_cert)) as client:
        assert client.post(url, json=body, headers=headers).json()["status"]["code"] == 10000
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        client.post(url, json=body, headers=headers)


def test_plain_http_client_cannot_talk_to_tls(tls_server: ServerThread) -> None:
    with (
        Model(
            url=f"x/{MODEL_PATH}",
            pat=tls_server.pat,
            base_url=f"http://127.0.0.1:{tls_server.grpc_port}",
        ) as model,
        pytest.raises(ClarionApiError),
    ):
        model.predict_by_bytes(b"hello", "text", timeout=5)
