"""The SDK's ``App``: a user's app, its labelled inputs and its custom models.

app = App("demo", pat=PAT, base_url="http://127.0.0.1:50051").create()
app.add_inputs([App.text_input("Great goal!", positive=["sports"], negative=["cooking"])])
app.create_model("topic", concepts=["sports", "cooking"])
version = app.train("topic")                       # waits until trained (or failed)
app.model("topic", version.id).predict_by_bytes(b"What a save!")
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2

from clarion.client.channel import DEFAULT_BASE_URL, V2Client, channel_for
from clarion.client.errors import ClarionApiError
from clarion.client.model import Model, _check

_TRAINED = 21100
_IN_PROGRESS = (21101, 21103)
_PAGE = 128


class App:
    """An app of the key's user (``user_id="me"``) on a Clarion server."""

    def __init__(
        self,
        app_id: str,
        *,
        user_id: str = "me",
        pat: str | None = None,
        base_url: str | None = None,
        root_certificates_path: str | Path | None = None,
    ) -> None:
        self.app_id, self.user_id = app_id, user_id
        self.pat = pat or os.environ.get("CLARION_PAT", "")
        if not self.pat:
            raise ValueError("A PAT is required: pass pat=... or set CLARION_PAT.")
        self.base_url = base_url or os.environ.get("CLARION_API_BASE", DEFAULT_BASE_URL)
        self._root = root_certificates_path
        self._channel = channel_for(self.base_url, root_certificates_path)
        self._stub = V2Client(self._channel)

    @property
    def _ids(self) -> resources_pb2.UserAppIDSet:
        return resources_pb2.UserAppIDSet(user_id=self.user_id, app_id=self.app_id)

    def _call(self, method: str, request: Any) -> Any:
        metadata = (("authorization", f"Key {self.pat}"),)
        return _check(getattr(self._stub, method)(request, metadata=metadata))

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # the app -------------------------------------------------------------------------

    def create(self, description: str = "") -> App:
        app = resources_pb2.App(id=self.app_id, description=description)
        self._call("PostApps", service_pb2.PostAppsRequest(user_app_id=self._ids, apps=[app]))
        return self

    def delete(self) -> None:
        self._call("DeleteApp", service_pb2.DeleteAppRequest(user_app_id=self._ids))

    # inputs --------------------------------------------------------------------------

    @staticmethod
    def text_input(
        text: str, positive: Sequence[str] = (), negative: Sequence[str] = (), input_id: str = ""
    ) -> resources_pb2.Input:
        data = resources_pb2.Data(text=resources_pb2.Text(raw=text))
        return App._labelled(data, positive, negative, input_id)

    @staticmethod
    def image_input(
        image: bytes, positive: Sequence[str] = (), negative: Sequence[str] = (), input_id: str = ""
    ) -> resources_pb2.Input:
        data = resources_pb2.Data(image=resources_pb2.Image(base64=image))
        return App._labelled(data, positive, negative, input_id)

    @staticmethod
    def _labelled(
        data: resources_pb2.Data, positive: Sequence[str], negative: Sequence[str], input_id: str
    ) -> resources_pb2.Input:
        data.concepts.extend(resources_pb2.Concept(id=c, value=1.0) for c in positive)
        data.concepts.extend(resources_pb2.Concept(id=c, value=0.0) for c in negative)
        return resources_pb2.Input(id=input_id or uuid.uuid4().hex, data=data)

    def add_inputs(
        self,
        inputs: Sequence[resources_pb2.Input],
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Upload inputs in requests of up to 128; ``progress`` gets each request's count."""
        for start in range(0, len(inputs), _PAGE):
            chunk = list(inputs[start : start + _PAGE])
            self._call(
                "PostInputs", service_pb2.PostInputsRequest(user_app_id=self._ids, inputs=chunk)
            )
            if progress is not None:
                progress(len(chunk))
        return len(inputs)

    def _every(self, method: str, field: str, **fields: Any) -> Iterator[Any]:
        """Every item a List* RPC answers, page by page until a page comes back empty."""
        request_class = getattr(service_pb2, f"{method}Request")
        page = 1
        while True:
            request = request_class(user_app_id=self._ids, page=page, per_page=_PAGE, **fields)
            items = getattr(self._call(method, request), field)
            if not items:
                return
            yield from items
            page += 1

    def list_inputs(self) -> Iterator[resources_pb2.Input]:
        return self._every("ListInputs", "inputs")

    def delete_inputs(self, ids: Sequence[str]) -> None:
        request = service_pb2.DeleteInputsRequest(user_app_id=self._ids, ids=list(ids))
        self._call("DeleteInputs", request)

    # concepts and datasets -----------------------------------------------------------

    def create_concepts(self, concept_ids: Sequence[str], names: Sequence[str] = ()) -> None:
        names = list(names) or list(concept_ids)
        pairs = zip(concept_ids, names, strict=True)
        concepts = [resources_pb2.Concept(id=c, name=n) for c, n in pairs]
        request = service_pb2.PostConceptsRequest(user_app_id=self._ids, concepts=concepts)
        self._call("PostConcepts", request)

    def list_concepts(self) -> list[resources_pb2.Concept]:
        return list(self._every("ListConcepts", "concepts"))

    def create_dataset(self, dataset_id: str, description: str = "") -> None:
        dataset = resources_pb2.Dataset(id=dataset_id, description=description)
        request = service_pb2.PostDatasetsRequest(user_app_id=self._ids, datasets=[dataset])
        self._call("PostDatasets", request)

    def add_to_dataset(self, dataset_id: str, input_ids: Sequence[str]) -> None:
        """Add inputs of the app to a dataset (in requests of up to 128)."""
        ids = list(input_ids)
        for start in range(0, len(ids), _PAGE):
            request = service_pb2.PostDatasetInputsRequest(
                user_app_id=self._ids,
                dataset_id=dataset_id,
                dataset_inputs=[
                    resources_pb2.DatasetInput(input=resources_pb2.Input(id=i))
                    for i in ids[start : start + _PAGE]
                ],
            )
            self._call("PostDatasetInputs", request)

    def list_datasets(self) -> list[resources_pb2.Dataset]:
        """Every dataset of the app."""
        return list(self._every("ListDatasets", "datasets"))

    def list_dataset_versions(self, dataset_id: str) -> list[resources_pb2.DatasetVersion]:
        """Every frozen version of a dataset, newest first."""
        return list(self._every("ListDatasetVersions", "dataset_versions", dataset_id=dataset_id))

    def create_dataset_version(
        self, dataset_id: str, description: str = ""
    ) -> resources_pb2.DatasetVersion:
        """Freeze the dataset's inputs and labels as they are now."""
        request = service_pb2.PostDatasetVersionsRequest(
            user_app_id=self._ids,
            dataset_id=dataset_id,
            dataset_versions=[resources_pb2.DatasetVersion(description=description)],
        )
        return self._call("PostDatasetVersions", request).dataset_versions[0]

    # models --------------------------------------------------------------------------

    def create_model(self, model_id: str, concepts: Sequence[str]) -> resources_pb2.Model:
        model = resources_pb2.Model(id=model_id, model_type_id="embedding-classifier")
        model.output_info.data.concepts.extend(resources_pb2.Concept(id=c) for c in concepts)
        request = service_pb2.PostModelsRequest(user_app_id=self._ids, model=model)
        return self._call("PostModels", request).model

    def delete_model(self, model_id: str) -> None:
        request = service_pb2.DeleteModelRequest(user_app_id=self._ids, model_id=model_id)
        self._call("DeleteModel", request)

    def train(
        self, model_id: str, *, wait: bool = True, timeout_s: float = 600,
        concepts: Sequence[str] = (), exclusive: bool = False, **params: Any,
    ) -> resources_pb2.ModelVersion:  # fmt: skip
        """Start a training (a new version); with ``wait`` return once it finished.

        ``concepts`` overrides the model's concepts, ``exclusive`` fits one softmax over them;
        ``params`` go to ``train_info.params`` (``dataset_id``, ``dataset_version_id``,
        ``base_model``, ``C``, ``max_iter``, ``class_weight``). Raises
        :class:`ClarionApiError` with the status when it was refused or failed.
        """
        version = resources_pb2.ModelVersion()
        if params:
            version.train_info.params.update(params)
        version.output_info.data.concepts.extend(resources_pb2.Concept(id=c) for c in concepts)
        if exclusive:
            version.output_info.output_config.concepts_mutually_exclusive = True
        request = service_pb2.PostModelVersionsRequest(
            user_app_id=self._ids, model_id=model_id, model_versions=[version]
        )
        created = self._call("PostModelVersions", request).model.model_version
        if not wait:
            return created
        deadline = time.monotonic() + timeout_s
        while True:
            current = self.version(model_id, created.id)
            if current.status.code not in _IN_PROGRESS:
                break
            if time.monotonic() > deadline:
                raise ClarionApiError(current.status.code, "Training did not finish in time")
            time.sleep(0.2)
        if current.status.code != _TRAINED:
            raise ClarionApiError(current.status.code, current.status.description)
        return current

    def version(self, model_id: str, version_id: str) -> resources_pb2.ModelVersion:
        request = service_pb2.GetModelVersionRequest(
            user_app_id=self._ids, model_id=model_id, version_id=version_id
        )
        return self._call("GetModelVersion", request).model_version

    def list_versions(self, model_id: str) -> list[resources_pb2.ModelVersion]:
        """Every version, newest first."""
        with self.model(model_id) as model:
            return list(model.list_versions())

    def delete_version(self, model_id: str, version_id: str) -> None:
        request = service_pb2.DeleteModelVersionRequest(
            user_app_id=self._ids, model_id=model_id, version_id=version_id
        )
        self._call("DeleteModelVersion", request)

    def model(self, model_id: str, version_id: str = "") -> Model:
        """A :class:`Model` of this app for predictions (the latest trained version by default)."""
        return Model(
            model_id=model_id,
            user_id=self.user_id,
            app_id=self.app_id,
            model_version={"id": version_id},
            pat=self.pat,
            base_url=self.base_url,
            root_certificates_path=self._root,
        )
