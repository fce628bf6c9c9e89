"""`kill -9` of `clarion serve` mid-work, then a restart on the same home.

Nothing the server acknowledged may be lost, nothing half-written may be visible, and a
training cut short answers 21106 with the reason. Each test kills a real subprocess while a
training runs, while image uploads stream in, and while versions are being deleted.
"""

from __future__ import annotations

import io
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from PIL import Image

from clarion.atomic import PARTIAL_SUFFIX
from clarion.client.channel import V2Client
from clarion.input_files import InputFiles
from tests.served import CLARION, Served, clarion_env, serve

pytestmark = pytest.mark.slow

PAT = "c0ffee" + "0" * 26
ENV = {"CLARION_PAT": PAT}
USER = "admin"  # the owner of CLARION_PAT
APP = resources_pb2.UserAppIDSet(user_id="me", app_id="crash")
METADATA = (("authorization", f"Key {PAT}"),)
TRAINING = 21101
TRAINED = 21100
FAILED = 21106


class Api:
    """The V2 service of one server process, with the key."""

    def __init__(self, served: Served) -> None:
        self._channel = grpc.insecure_channel(served.grpc_target)
        self._client = V2Client(self._channel)

    def __call__(self, method: str, request: Any, timeout: float = 60) -> Any:
        return getattr(self._client, method)(request, metadata=METADATA, timeout=timeout)

    def ok(self, method: str, request: Any) -> Any:
        response = self(method, request)
        assert response.status.code == 10000, (method, response.status)
        return response

    def close(self) -> None:
        self._channel.close()


def _text(input_id: str, text: str, positive: str, negative: str) -> resources_pb2.Input:
    data = resources_pb2.Data(text=resources_pb2.Text(raw=text))
    data.concepts.add(id=positive, value=1.0)
    data.concepts.add(id=negative, value=0.0)
    return resources_pb2.Input(id=input_id, data=data)


def _labelled_texts(count: int) -> list[resources_pb2.Input]:
    sports = ["The striker scored twice", "A late goal won it", "The keeper saved a penalty"]
    cooking = ["Fry the garlic in oil", "Bake the bread for an hour", "Simmer the beans"]
    return [
        _text(f"t{n}", f"{sports[n % 3]} ({n})", "sports", "cooking")
        if n % 2
        else _text(f"t{n}", f"{cooking[n % 3]} ({n})", "cooking", "sports")
        for n in range(count)
    ]


def _setup_app(api: Api, inputs: int) -> None:
    api.ok("PostApps", service_pb2.PostAppsRequest(apps=[resources_pb2.App(id=APP.app_id)]))
    batch = _labelled_texts(inputs)
    for start in range(0, len(batch), 128):
        api.ok(
            "PostInputs",
            service_pb2.PostInputsRequest(user_app_id=APP, inputs=batch[start : start + 128]),
        )
    model = resources_pb2.Model(id="topic", model_type_id="embedding-classifier")
    for concept in ("sports", "cooking"):
        model.output_info.data.concepts.add(id=concept)
    api.ok("PostModels", service_pb2.PostModelsRequest(user_app_id=APP, models=[model]))


def _train(api: Api) -> str:
    created = api.ok(
        "PostModelVersions", service_pb2.PostModelVersionsRequest(user_app_id=APP, model_id="topic")
    )
    return str(created.model.model_version.id)


def _training_status(api: Api, version_id: str) -> Any:
    request = service_pb2.GetModelVersionRequest(
        user_app_id=APP, model_id="topic", version_id=version_id
    )
    return api("GetModelVersion", request).model_version.status


def _wait_trained(api: Api, version_id: str) -> None:
    deadline = time.monotonic() + 180
    while (status := _training_status(api, version_id)).code != TRAINED:
        assert status.code in (21103, TRAINING), status
        assert time.monotonic() < deadline, "training never finished"
        time.sleep(0.1)


def _predict(api: Api, version_id: str) -> Any:
    text = resources_pb2.Input(data=resources_pb2.Data(text=resources_pb2.Text(raw="A goal!")))
    request = service_pb2.PostModelOutputsRequest(
        user_app_id=APP, model_id="topic", version_id=version_id, inputs=[text]
    )
    return api("PostModelOutputs", request)


def _kill(served: Served) -> None:
    served.process.kill()  # SIGKILL: no handler, no clean-up, no flush
    served.process.wait(timeout=30)


def _partials(home: Path) -> list[Path]:
    return list(home.rglob(f"*{PARTIAL_SUFFIX}"))


def test_a_training_killed_midway_answers_21106_with_the_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with serve(home, env=ENV) as served:
        api = Api(served)
        _setup_app(api, 600)
        version_id = _train(api)
        deadline = time.monotonic() + 60
        while _training_status(api, version_id).code != TRAINING:
            assert time.monotonic() < deadline, "the training never started"
            time.sleep(0.01)
        _kill(served)
        api.close()
    with serve(home, env=ENV) as served:
        api = Api(served)
        status = _training_status(api, version_id)
        assert status.code == FAILED
        assert "interrupted by a server restart" in status.description + status.details
        refused = _predict(api, version_id)
        assert refused.status.code == FAILED and "interrupted" in refused.status.details
        listed = api.ok("ListInputs", service_pb2.ListInputsRequest(user_app_id=APP, per_page=1000))
        assert len(listed.inputs) == 600  # every acknowledged input survived
        assert not (home / "artifacts" / f"{version_id}.npz").exists()
        assert not _partials(home)
        again = _train(api)  # the model trains again on the same home
        _wait_trained(api, again)
        assert _predict(api, again).status.code == 10000
        api.close()


def _noise_png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads_killed_midway_keep_every_acknowledged_input_whole(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sent: dict[str, bytes] = {}
    acknowledged: list[str] = []
    with serve(home, env=ENV) as served:
        api = Api(served)
        api.ok("PostApps", service_pb2.PostAppsRequest(apps=[resources_pb2.App(id=APP.app_id)]))

        batches = []  # made beforehand, so that requests follow each other at once
        for batch in range(60):
            request = service_pb2.PostInputsRequest(user_app_id=APP)
            for n in range(16):
                input_id = f"img{batch}-{n}"
                sent[input_id] = _noise_png(len(sent))
                request.inputs.add(id=input_id).data.image.base64 = sent[input_id]
            batches.append(request)

        def upload() -> None:
            for request in batches:
                try:
                    response = api("PostInputs", request, timeout=30)
                except grpc.RpcError:
                    return  # the server is gone
                assert response.status.code == 10000, response.status
                acknowledged.extend(i.id for i in request.inputs)

        uploader = threading.Thread(target=upload)
        uploader.start()
        deadline = time.monotonic() + 60
        while len(acknowledged) < 5 * 16:
            assert time.monotonic() < deadline and uploader.is_alive(), "uploads stalled"
            time.sleep(0.005)
        _kill(served)
        uploader.join(timeout=60)
        api.close()
    with serve(home, env=ENV) as served:
        api = Api(served)
        listed = api.ok(
            "ListInputs", service_pb2.ListInputsRequest(user_app_id=APP, per_page=1000)
        ).inputs
        visible = {i.id for i in listed}
        assert set(acknowledged) <= visible, "an acknowledged input was lost"
        assert visible <= set(sent)
        files = InputFiles(home / "inputs")
        for input_id in visible:  # every visible input is whole
            assert files.path_for(USER, APP.app_id, input_id).read_bytes() == sent[input_id]
        on_disk = {p.name for p in (home / "inputs").glob("*/*")}
        expected = {files.path_for(USER, APP.app_id, i).name for i in visible}
        assert on_disk == expected  # no half-written or orphaned file is left
        api.close()


def test_version_deletes_killed_midway_leave_each_version_whole_or_gone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    deleted: list[str] = []
    with serve(home, env=ENV) as served:
        api = Api(served)
        _setup_app(api, 12)
        versions = []
        for _ in range(4):
            versions.append(_train(api))
            _wait_trained(api, versions[-1])

        def delete(version_id: str) -> None:
            request = service_pb2.DeleteModelVersionRequest(
                user_app_id=APP, model_id="topic", version_id=version_id
            )
            try:
                if api("DeleteModelVersion", request, timeout=30).status.code == 10000:
                    deleted.append(version_id)
            except grpc.RpcError:
                pass  # the server is gone

        delete(versions[0])
        workers = [threading.Thread(target=delete, args=(v,)) for v in versions[1:]]
        for worker in workers:
            worker.start()
        _kill(served)
        for worker in workers:
            worker.join(timeout=60)
        api.close()
    assert versions[0] in deleted
    with serve(home, env=ENV) as served:
        api = Api(served)
        listed = api.ok(
            "ListModelVersions",
            service_pb2.ListModelVersionsRequest(user_app_id=APP, model_id="topic"),
        )
        remaining = {v.id for v in listed.model_versions}
        assert not remaining & set(deleted), "an acknowledged delete came back"
        for version_id in versions:
            answer = _predict(api, version_id)
            if version_id in remaining:  # still listed: whole, artefact included
                assert answer.status.code == 10000, answer.status
                assert (home / "artifacts" / f"{version_id}.npz").exists()
            else:
                assert answer.status.code == 21200, answer.status
                assert not (home / "artifacts" / f"{version_id}.npz").exists()
        assert not _partials(home)
        api.close()


def test_a_second_server_on_the_same_home_is_refused_and_a_killed_one_is_not(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    with serve(home, env=ENV) as first:
        second = subprocess.run(
            [CLARION, "serve", "--grpc-port", "0", "--rest-port", "0"],
            env=clarion_env(home, **ENV),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode != 0
        assert "Another Clarion server is serving from" in second.stderr + second.stdout
        assert first.process.poll() is None  # the first one is untouched
        _kill(first)
    with serve(home, env=ENV) as restarted:  # the kernel dropped the lock with the process
        api = Api(restarted)
        assert api("GetUser", service_pb2.GetUserRequest(user_app_id=APP)).status.code == 10000
        api.close()
