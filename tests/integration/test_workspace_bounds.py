"""Workspace requests over REST against the session server: names or descriptions too long
for the registry's columns, or several datasets at once, answer a 400 that says what is
wrong and leave nothing half-done; ``me`` names the key's user everywhere."""

from __future__ import annotations

import asyncio
import base64
import io
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from clarion.client import App
from clarion.domain.workspace import StoredInput
from clarion.registry.store import MAX_PER_PAGE
from clarion.server_thread import ServerThread
from clarion.workspace.version_files import VersionFiles

pytestmark = pytest.mark.slow


@pytest.fixture
def app(server: ServerThread) -> Iterator[tuple[httpx.Client, str]]:
    """A fresh app of the session key's user, and a client already carrying the key."""
    app_id = f"bounds-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Key {server.pat}"}
    with httpx.Client(headers=headers, timeout=30) as http:
        created = http.post(f"{server.rest_url}/v2/users/me/apps", json={"apps": [{"id": app_id}]})
        assert created.status_code == 200, created.text
        try:
            yield http, f"{server.rest_url}/v2/users/me/apps/{app_id}"
        finally:
            http.delete(f"{server.rest_url}/v2/users/me/apps/{app_id}")


def _text(input_id: str, **data: object) -> dict[str, object]:
    return {"id": input_id, "data": {"text": {"raw": "some words"}, **data}}


def test_a_long_concept_name_on_an_input_is_refused(app: tuple[httpx.Client, str]) -> None:
    http, base = app
    long_name = {"id": "c", "name": "n" * 257, "value": 1}
    posted = http.post(f"{base}/inputs", json={"inputs": [_text("i1", concepts=[long_name])]})
    assert posted.status_code == 400, posted.text
    assert "the limit is 256" in posted.json()["status"]["details"]
    assert http.get(f"{base}/inputs").json().get("inputs", []) == []
    stored = http.post(f"{base}/inputs", json={"inputs": [_text("i1")]})
    assert stored.status_code == 200, stored.text
    patched = http.patch(
        f"{base}/inputs", json={"action": "merge", "inputs": [_text("i1", concepts=[long_name])]}
    )
    assert patched.status_code == 400, patched.text
    assert "the limit is 256" in patched.json()["status"]["details"]
    assert http.get(f"{base}/concepts").json().get("concepts", []) == []


def test_a_long_inputs_add_job_id_is_refused(app: tuple[httpx.Client, str]) -> None:
    http, base = app
    body = {"inputs_add_job_id": "j" * 129, "inputs": [_text("i1")]}
    posted = http.post(f"{base}/inputs", json=body)
    assert posted.status_code == 400, posted.text
    assert "inputs_add_job_id is 129 characters" in posted.json()["status"]["details"]
    assert http.get(f"{base}/inputs").json().get("inputs", []) == []


def test_long_dataset_and_version_descriptions_are_refused(app: tuple[httpx.Client, str]) -> None:
    http, base = app
    wordy_dataset = {"id": "d", "description": "x" * 1001}
    wordy = http.post(f"{base}/datasets", json={"datasets": [wordy_dataset]})
    assert wordy.status_code == 400, wordy.text
    assert "the limit is 1000" in wordy.json()["status"]["details"]
    assert http.post(f"{base}/datasets", json={"datasets": [{"id": "d"}]}).status_code == 200
    version = http.post(
        f"{base}/datasets/d/versions", json={"dataset_versions": [{"description": "x" * 2001}]}
    )
    assert version.status_code == 400, version.text
    assert "the limit is 2000" in version.json()["status"]["details"]
    assert http.get(f"{base}/datasets/d/versions").json().get("dataset_versions", []) == []


def test_post_datasets_creates_all_or_none(app: tuple[httpx.Client, str]) -> None:
    http, base = app
    assert http.post(f"{base}/datasets", json={"datasets": [{"id": "old"}]}).status_code == 200
    for ids in (["new", "old"], ["twice", "twice"]):
        response = http.post(f"{base}/datasets", json={"datasets": [{"id": i} for i in ids]})
        assert response.status_code == 400, response.text
        assert "nothing was created" in response.json()["status"]["details"]
    listed = http.get(f"{base}/datasets").json()["datasets"]
    assert [d["id"] for d in listed] == ["old"]


def test_a_dataset_version_is_frozen_off_the_event_loop(
    app: tuple[httpx.Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, base = app
    on_loop: list[bool] = []
    freeze = VersionFiles.freeze

    def spy(
        self: VersionFiles, version_id: str, inputs: Sequence[StoredInput]
    ) -> list[StoredInput]:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return freeze(self, version_id, inputs)

    monkeypatch.setattr(VersionFiles, "freeze", spy)
    assert http.post(f"{base}/inputs", json={"inputs": [_text("i1")]}).status_code == 200
    assert http.post(f"{base}/datasets", json={"datasets": [{"id": "d"}]}).status_code == 200
    added = http.post(
        f"{base}/datasets/d/inputs", json={"dataset_inputs": [{"input": {"id": "i1"}}]}
    )
    assert added.status_code == 200, added.text
    version = http.post(f"{base}/datasets/d/versions", json={"dataset_versions": [{}]})
    assert version.status_code == 200, version.text
    assert on_loop == [False]


def test_clarions_sdk_lists_every_dataset_past_one_page(
    server: ServerThread, app: tuple[httpx.Client, str]
) -> None:
    http, base = app
    ids = [f"d{n:04d}" for n in range(MAX_PER_PAGE + 1)]
    for start in range(0, len(ids), 128):
        chunk = [{"id": i} for i in ids[start : start + 128]]
        assert http.post(f"{base}/datasets", json={"datasets": chunk}).status_code == 200
    app_id = base.rsplit("/", 1)[-1]
    with App(app_id, pat=server.pat, base_url=server.grpc_url) as client:
        assert [d.id for d in client.list_datasets()] == ids


def test_long_app_model_and_version_fields_are_refused(app: tuple[httpx.Client, str]) -> None:
    http, base = app
    apps = f"{base.rsplit('/apps/', 1)[0]}/apps"
    for fields, limit in (({"id": "a" * 65}, 64), ({"id": "ok", "description": "x" * 1001}, 1000)):
        refused = http.post(apps, json={"apps": [fields]})
        assert refused.status_code == 400, refused.text
        assert f"the limit is {limit}" in refused.json()["status"]["details"]
    model = {"id": "m", "model_type_id": "embedding-classifier"}
    model_fields: dict[str, Any]
    for model_fields, limit in (
        ({"id": "m" * 129}, 128),
        ({"name": "n" * 257}, 256),
        ({"description": "x" * 2001}, 2000),
        ({"output_info": {"data": {"concepts": [{"id": "c", "name": "n" * 257}]}}}, 256),
    ):
        refused = http.post(f"{base}/models", json={"model": {**model, **model_fields}})
        assert refused.status_code == 400, refused.text
        assert f"the limit is {limit}" in refused.json()["status"]["details"] or (
            f"1 to {limit} characters" in refused.json()["status"]["details"]
        )
    listed = http.get(f"{base}/models")
    assert listed.status_code == 200 and listed.json().get("models", []) == [], listed.text
    created = http.post(f"{base}/models", json={"model": model})
    assert created.status_code == 200, created.text
    versions = f"{base}/models/m/versions"
    refused = http.post(versions, json={"model_versions": [{"description": "x" * 2001}]})
    assert refused.status_code == 400, refused.text
    assert "the limit is 2000" in refused.json()["status"]["details"]


def test_list_models_of_an_app_named_through_me(app: tuple[httpx.Client, str]) -> None:
    http, base = app
    model = {"id": "mine", "model_type_id": "embedding-classifier"}
    assert http.post(f"{base}/models", json={"model": model}).status_code == 200
    listed = http.get(f"{base}/models")
    assert listed.status_code == 200, listed.text
    assert [m["id"] for m in listed.json()["models"]] == ["mine"]


def test_stored_texts_are_bounded_and_must_be_utf8(
    app: tuple[httpx.Client, str], file_server: tuple[str, Path], server: ServerThread
) -> None:
    http, base = app
    limit = server.settings.max_text_bytes
    big = {"id": "big", "data": {"text": {"raw": "a" * (limit + 1)}}}
    refused = http.post(f"{base}/inputs", json={"inputs": [big]})
    assert refused.status_code == 400, refused.text[:300]
    assert f"the limit is {limit} bytes" in refused.json()["status"]["details"]
    url, root = file_server
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    by_url = {"id": "latin", "data": {"text": {"url": f"{url}/latin1.txt"}}}
    refused = http.post(f"{base}/inputs", json={"inputs": [by_url]})
    assert refused.status_code == 400, refused.text[:300]
    assert "not valid UTF-8" in refused.json()["status"]["details"]
    assert http.get(f"{base}/inputs").json().get("inputs", []) == []


def test_image_listings_read_their_files_off_the_event_loop(
    app: tuple[httpx.Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    http, base = app
    png = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 200, 10)).save(png, "PNG")
    image = {"image": {"base64": base64.b64encode(png.getvalue()).decode()}}
    assert (
        http.post(f"{base}/inputs", json={"inputs": [{"id": "g", "data": image}]}).status_code
        == 200
    )
    assert http.post(f"{base}/datasets", json={"datasets": [{"id": "d"}]}).status_code == 200
    added = http.post(
        f"{base}/datasets/d/inputs", json={"dataset_inputs": [{"input": {"id": "g"}}]}
    )
    assert added.status_code == 200, added.text
    on_loop: list[bool] = []
    original = Image.open

    def spy(*args: Any, **kwargs: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop.append(True)
        except RuntimeError:
            on_loop.append(False)
        return original(*args, **kwargs)

    monkeypatch.setattr(Image, "open", spy)
    listed = http.get(f"{base}/inputs").json()["inputs"]
    assert listed[0]["data"]["image"]["image_info"]["width"] == 40
    in_dataset = http.get(f"{base}/datasets/d/inputs").json()["dataset_inputs"]
    assert in_dataset[0]["input"]["data"]["image"]["image_info"]["height"] == 30
    assert on_loop == [False, False]
