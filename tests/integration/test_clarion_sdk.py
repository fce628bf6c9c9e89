"""Clarion's own SDK against a real server: the seed's shapes, errors and URL inputs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from clarion.client import ClarionApiError, Inputs, Model
from clarion.server_thread import ServerThread

pytestmark = pytest.mark.slow


@pytest.fixture
def model(server: ServerThread) -> Iterator[Model]:
    with Model(
        url="https://any.host/clarion/main/models/all-minilm-l6-v2",
        pat=server.pat,
        base_url=server.grpc_url,
    ) as m:
        yield m


def test_model_by_ids_and_by_url_agree(server: ServerThread, model: Model) -> None:
    with Model(
        user_id="clarion",
        app_id="main",
        model_id="all-minilm-l6-v2",
        pat=server.pat,
        base_url=server.grpc_url,
    ) as by_ids:
        a = by_ids.predict_by_bytes(b"same text", "text").outputs[0].data.embeddings[0].vector
    b = model.predict_by_bytes("same text", "text").outputs[0].data.embeddings[0].vector
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_batch_of_16_keeps_ids(model: Model) -> None:
    protos = [
        Inputs.get_input_from_bytes(f"demo_{i}", text_bytes=b"What's the future of AI?")
        for i in range(16)
    ]
    response = model.predict(protos)
    assert [o.input.id for o in response.outputs] == [f"demo_{i}" for i in range(16)]


def test_predict_by_url_and_filepath(
    model: Model, file_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, root = file_server
    (root / "note.txt").write_text("a short note")
    path = tmp_path / "note.txt"
    path.write_text("a short note")
    by_url = model.predict_by_url(f"{base}/note.txt", input_type="text")
    by_file = model.predict_by_filepath(path, input_type="text")
    np.testing.assert_allclose(
        by_url.outputs[0].data.embeddings[0].vector,
        by_file.outputs[0].data.embeddings[0].vector,
        atol=1e-6,
    )


def test_url_inputs_are_fetched_safely(model: Model, file_server: tuple[str, Path]) -> None:
    base, root = file_server
    port = base.rsplit(":", 1)[1]
    (root / "big.txt").write_bytes(b"x" * (1024 * 1024 + 10))
    (root / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    cases = {
        f"http://127.0.0.1:{port}/note.txt": "loopback",
        "http://169.254.169.254/latest/meta-data/": "link-local",
        "http://10.0.0.8/x.txt": "private",
        f"{base}/missing.txt": "HTTP 404",
        f"{base}/latin1.txt": "not valid UTF-8",
        f"{base}/big.txt": "limit",
    }
    for url, fragment in cases.items():
        with pytest.raises(ClarionApiError) as info:
            model.predict_by_url(url, input_type="text")
        assert info.value.code == 10020, url  # every input failed
        output_status = info.value.details
        assert fragment in output_status, (url, output_status)


def test_errors_raise_one_exception_type(server: ServerThread) -> None:
    missing = Model(model_id="no-such-model", pat=server.pat, base_url=server.grpc_url)
    with missing, pytest.raises(ClarionApiError) as info:
        missing.predict_by_bytes(b"hi", "text")
    assert info.value.code == 21200 and "no-such-model" in info.value.details
    bad_key = Model(model_id="all-minilm-l6-v2", pat="f" * 32, base_url=server.grpc_url)
    with bad_key, pytest.raises(ClarionApiError) as info:
        bad_key.predict_by_bytes(b"hi", "text")
    assert info.value.code == 11009


def test_list_versions_and_output_info(model: Model) -> None:
    versions = list(model.list_versions(per_page=1))
    assert len(versions) == 1
    assert model.output_info().model_type_id == "text-embedder"
    assert model.load_info().model_version.id == versions[0].id


def test_the_fetcher_connects_to_the_address_it_checked(
    file_server: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host name is resolved once; the request goes to that address with its Host header."""
    import asyncio

    from clarion import inputs
    from clarion.config import Settings

    base, root = file_server
    (root / "pinned.txt").write_text("pinned")
    port = int(base.rsplit(":", 1)[1])

    class LoopbackDns(inputs.UrlFetcher):
        async def _addresses(self, host: str, port: int) -> list[str]:
            assert host == "files.example"
            return ["127.0.0.1"]

    monkeypatch.setattr(inputs, "refused_reason", lambda _address: None)  # let loopback pass
    fetcher = LoopbackDns(Settings.from_env({}))

    async def fetch() -> bytes:
        try:
            return await fetcher.fetch(f"http://files.example:{port}/pinned.txt")
        finally:
            await fetcher.aclose()

    assert asyncio.run(fetch()) == b"pinned"
