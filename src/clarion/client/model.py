"""The SDK's ``Model``: predictions and model info over gRPC, shaped like the Clarifai SDK.

    from clarion.client import Model

    model = Model(url="http://127.0.0.1:8000/clarion/main/models/all-minilm-l6-v2",
                  pat="...", base_url="http://127.0.0.1:50051")
    response = model.predict_by_bytes(b"Hello", input_type="text")
    vector = response.outputs[0].data.embeddings[0].vector

The PAT defaults to ``CLARION_PAT`` and the server to ``CLARION_API_BASE``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf import struct_pb2

from clarion.client.channel import DEFAULT_BASE_URL, V2Client, channel_for
from clarion.client.errors import ClarionApiError
from clarion.client.inputs import Inputs
from clarion.domain.scaling import ScalingSettings
from clarion.scaling_wire import deployment_message

_SUCCESS = 10000
_MIXED = 10010
_TRANSPORT_FAILURE = 98004
_INPUT_TYPES = ("text", "image")


def parse_model_url(url: str) -> tuple[str, str, str, str]:
    """``(user_id, app_id, model_id, version_id)`` from a model URL.

    The URL ends in ``/<user>/<app>/models/<id>`` or ``.../models/<id>/versions/<v>``.
    """
    path = urlsplit(url).path if "://" in url else url
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 4 and parts[-2] == "versions":
        version_id, parts = parts[-1], parts[:-2]
    else:
        version_id = ""
    if len(parts) < 4 or parts[-2] != "models":
        raise ValueError(
            f"A model URL must end in /<user_id>/<app_id>/models/<model_id>"
            f"[/versions/<version_id>], got {url!r}."
        )
    return parts[-4], parts[-3], parts[-1], version_id


def _check(response: Any) -> Any:
    if response.status.code not in (_SUCCESS, _MIXED):
        raise ClarionApiError(
            response.status.code, response.status.description, response.status.details
        )
    return response


class Model:
    """A model on a Clarion server, addressed by URL or by user/app/model ids."""

    def __init__(
        self,
        url: str | None = None,
        *,
        model_id: str | None = None,
        user_id: str = "clarion",
        app_id: str = "main",
        model_version: Mapping[str, str] | None = None,
        pat: str | None = None,
        base_url: str | None = None,
        root_certificates_path: str | Path | None = None,
    ) -> None:
        if (url is None) == (model_id is None):
            raise ValueError("Give exactly one of url or model_id.")
        if url is not None:
            user_id, app_id, model_id, version_id = parse_model_url(url)
        else:
            version_id = (model_version or {}).get("id", "")
        assert model_id is not None
        self.user_id, self.app_id, self.model_id, self.version_id = (
            user_id, app_id, model_id, version_id
        )  # fmt: skip
        self.pat = pat or os.environ.get("CLARION_PAT", "")
        if not self.pat:
            raise ValueError("A PAT is required: pass pat=... or set CLARION_PAT.")
        self.base_url = base_url or os.environ.get("CLARION_API_BASE", DEFAULT_BASE_URL)
        self._channel = channel_for(self.base_url, root_certificates_path)
        self._stub = V2Client(self._channel)

    # plumbing --------------------------------------------------------------------------

    @property
    def _user_app(self) -> resources_pb2.UserAppIDSet:
        return resources_pb2.UserAppIDSet(user_id=self.user_id, app_id=self.app_id)

    def _call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        metadata = (("authorization", f"Key {self.pat}"),)
        try:
            response = getattr(self._stub, method)(request, metadata=metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise ClarionApiError(
                _TRANSPORT_FAILURE, f"gRPC {exc.code().name}", exc.details() or ""
            ) from exc
        return _check(response)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # model info ------------------------------------------------------------------------

    def load_info(self) -> resources_pb2.Model:
        request = service_pb2.GetModelRequest(
            user_app_id=self._user_app, model_id=self.model_id, version_id=self.version_id
        )
        return self._call("GetModel", request).model

    def output_info(self) -> resources_pb2.Model:
        request = service_pb2.GetModelRequest(
            user_app_id=self._user_app, model_id=self.model_id, version_id=self.version_id
        )
        return self._call("GetModelOutputInfo", request).model

    def list_versions(self, per_page: int = 0) -> Iterator[resources_pb2.ModelVersion]:
        """Every version, newest first, fetched page by page."""
        page = 1
        while True:
            request = service_pb2.ListModelVersionsRequest(
                user_app_id=self._user_app, model_id=self.model_id, page=page, per_page=per_page
            )
            versions = self._call("ListModelVersions", request).model_versions
            if not versions:
                return
            yield from versions
            page += 1

    # deployment ------------------------------------------------------------------------

    def deploy(self, settings: ScalingSettings) -> resources_pb2.Deployment:
        """Set how this model version (the latest when none is named) scales on a cluster
        (PostDeployments); returns the deployment as the server stored it."""
        deployment = deployment_message(
            settings, self.user_id, self.app_id, self.model_id, self.version_id
        )
        request = service_pb2.PostDeploymentsRequest(
            user_app_id=self._user_app, deployments=[deployment]
        )
        return self._call("PostDeployments", request).deployments[0]  # type: ignore[no-any-return]

    def deployment(self) -> resources_pb2.Deployment:
        """This model version's deployment (the latest version's when none is named)."""
        version_id = self.version_id or self.load_info().model_version.id
        request = service_pb2.GetDeploymentRequest(
            user_app_id=self._user_app, deployment_id=version_id
        )
        return self._call("GetDeployment", request).deployment  # type: ignore[no-any-return]

    # predictions -----------------------------------------------------------------------

    def _request(
        self,
        inputs: Sequence[resources_pb2.Input],
        inference_params: Mapping[str, Any] | None,
        output_config: Mapping[str, Any] | None,
    ) -> service_pb2.PostModelOutputsRequest:
        model = resources_pb2.Model(id=self.model_id)
        model.model_version.id = self.version_id
        output_info = model.model_version.output_info
        if inference_params:
            params = struct_pb2.Struct()
            params.update(dict(inference_params))
            output_info.params.CopyFrom(params)
        for key, value in (output_config or {}).items():
            if key == "select_concepts":
                output_info.output_config.select_concepts.extend(
                    resources_pb2.Concept(**c) if isinstance(c, Mapping) else c for c in value
                )
            else:
                setattr(output_info.output_config, key, value)
        return service_pb2.PostModelOutputsRequest(
            user_app_id=self._user_app,
            model_id=self.model_id,
            version_id=self.version_id,
            inputs=list(inputs),
            model=model,
        )

    def predict(
        self,
        inputs: Sequence[resources_pb2.Input],
        inference_params: Mapping[str, Any] | None = None,
        output_config: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> service_pb2.MultiOutputResponse:
        """One PostModelOutputs call for all ``inputs`` (1 to 128)."""
        request = self._request(inputs, inference_params, output_config)
        return self._call("PostModelOutputs", request, timeout=timeout)  # type: ignore[no-any-return]

    def generate(
        self,
        inputs: Sequence[resources_pb2.Input],
        inference_params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> Iterator[service_pb2.MultiOutputResponse]:
        """Stream a generative model's output (GenerateModelOutputs): each response carries
        the newest piece of text; the last one per input carries its token counts.
        Closing the iterator early cancels the generation on the server."""
        request = self._request(inputs, inference_params, None)
        metadata = (("authorization", f"Key {self.pat}"),)
        call = self._stub.GenerateModelOutputs(request, metadata=metadata, timeout=timeout)
        try:
            for response in call:
                yield _check(response)
        except grpc.RpcError as exc:
            raise ClarionApiError(
                _TRANSPORT_FAILURE, f"gRPC {exc.code().name}", exc.details() or ""
            ) from exc
        finally:
            call.cancel()

    def generate_by_bytes(
        self, input_bytes: bytes | str, input_type: str = "text", **kwargs: Any
    ) -> Iterator[service_pb2.MultiOutputResponse]:
        raw = input_bytes.encode() if isinstance(input_bytes, str) else input_bytes
        _kind(input_type)
        return self.generate([Inputs.get_input_from_bytes(text_bytes=raw)], **kwargs)

    def generate_by_url(
        self, url: str, input_type: str = "text", **kwargs: Any
    ) -> Iterator[service_pb2.MultiOutputResponse]:
        _kind(input_type)
        return self.generate([Inputs.get_input_from_url(text_url=url)], **kwargs)

    def generate_by_filepath(
        self, filepath: str | Path, input_type: str = "text", **kwargs: Any
    ) -> Iterator[service_pb2.MultiOutputResponse]:
        return self.generate_by_bytes(Path(filepath).read_bytes(), input_type, **kwargs)

    def predict_by_bytes(
        self, input_bytes: bytes | str, input_type: str = "text", **kwargs: Any
    ) -> service_pb2.MultiOutputResponse:
        raw = input_bytes.encode() if isinstance(input_bytes, str) else input_bytes
        if _kind(input_type) == "text":
            item = Inputs.get_input_from_bytes(text_bytes=raw)
        else:
            item = Inputs.get_input_from_bytes(image_bytes=raw)
        return self.predict([item], **kwargs)

    def predict_by_url(
        self, url: str, input_type: str = "text", **kwargs: Any
    ) -> service_pb2.MultiOutputResponse:
        if _kind(input_type) == "text":
            item = Inputs.get_input_from_url(text_url=url)
        else:
            item = Inputs.get_input_from_url(image_url=url)
        return self.predict([item], **kwargs)

    def predict_by_filepath(
        self, filepath: str | Path, input_type: str = "text", **kwargs: Any
    ) -> service_pb2.MultiOutputResponse:
        return self.predict_by_bytes(Path(filepath).read_bytes(), _kind(input_type), **kwargs)


def _kind(input_type: str) -> str:
    if input_type not in _INPUT_TYPES:
        raise ValueError(
            f"input_type must be one of {', '.join(_INPUT_TYPES)}, got {input_type!r}."
        )
    return input_type
