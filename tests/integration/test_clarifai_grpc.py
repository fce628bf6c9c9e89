"""Raw clarifai-grpc clients: the gRPC stub with metadata, and the JSON channel over REST."""

from __future__ import annotations

import grpc
import pytest
from clarifai_grpc.channel.clarifai_channel import ClarifaiChannel
from clarifai_grpc.grpc.api import resources_pb2, service_pb2, service_pb2_grpc
from clarifai_grpc.grpc.api.status import status_code_pb2

from clarion.server_thread import ServerThread
from tests.conftest import Metadata

pytestmark = pytest.mark.slow

USER_APP = resources_pb2.UserAppIDSet(user_id="clarion", app_id="main")
MODEL_ID = "all-minilm-l6-v2"


def _text_input(text: str, input_id: str = "") -> resources_pb2.Input:
    return resources_pb2.Input(
        id=input_id, data=resources_pb2.Data(text=resources_pb2.Text(raw=text))
    )


@pytest.fixture
def stub(server: ServerThread) -> service_pb2_grpc.V2Stub:
    channel = ClarifaiChannel.get_insecure_grpc_channel(base="127.0.0.1", port=server.grpc_port)
    return service_pb2_grpc.V2Stub(channel)


@pytest.fixture
def metadata(server: ServerThread) -> tuple[tuple[str, str], ...]:
    return (("authorization", "Key " + server.pat),)


def test_post_model_outputs_with_user_app_id(
    stub: service_pb2_grpc.V2Stub, metadata: Metadata
) -> None:
    response = stub.PostModelOutputs(
        service_pb2.PostModelOutputsRequest(
            user_app_id=USER_APP, model_id=MODEL_ID, inputs=[_text_input("hello", "in-1")]
        ),
        metadata=metadata,
    )
    assert response.status.code == status_code_pb2.SUCCESS
    assert response.outputs[0].input.id == "in-1"
    assert response.outputs[0].data.embeddings[0].num_dimensions == 384
    assert response.outputs[0].model.model_version.id


def test_get_model_output_info_and_type(stub: service_pb2_grpc.V2Stub, metadata: Metadata) -> None:
    info = stub.GetModelOutputInfo(
        service_pb2.GetModelRequest(user_app_id=USER_APP, model_id=MODEL_ID), metadata=metadata
    )
    assert info.status.code == status_code_pb2.SUCCESS
    assert info.model.id == MODEL_ID and info.model.model_type_id == "text-embedder"
    model_type = stub.GetModelType(
        service_pb2.GetModelTypeRequest(user_app_id=USER_APP, model_type_id="text-embedder"),
        metadata=metadata,
    )
    assert list(model_type.model_type.input_fields) == ["text"]


def test_get_user_me_and_list_models(
    stub: service_pb2_grpc.V2Stub, metadata: Metadata, server: ServerThread
) -> None:
    me = stub.GetUser(
        service_pb2.GetUserRequest(user_app_id=resources_pb2.UserAppIDSet(user_id="me")),
        metadata=metadata,
    )
    assert me.status.code == status_code_pb2.SUCCESS and me.user.id == "admin"
    models = stub.ListModels(service_pb2.ListModelsRequest(), metadata=metadata)
    assert MODEL_ID in [m.id for m in models.models]


def test_list_model_versions_pages_then_ends(
    stub: service_pb2_grpc.V2Stub, metadata: Metadata
) -> None:
    pages = [
        stub.ListModelVersions(
            service_pb2.ListModelVersionsRequest(
                user_app_id=USER_APP, model_id=MODEL_ID, page=page, per_page=1
            ),
            metadata=metadata,
        )
        for page in (1, 2)
    ]
    assert len(pages[0].model_versions) == 1
    assert len(pages[1].model_versions) == 0 and pages[1].status.code == status_code_pb2.SUCCESS


def test_get_model_version_by_id_and_unknown_version(
    stub: service_pb2_grpc.V2Stub, metadata: Metadata
) -> None:
    model = stub.GetModel(
        service_pb2.GetModelRequest(user_app_id=USER_APP, model_id=MODEL_ID), metadata=metadata
    ).model
    version = stub.GetModelVersion(
        service_pb2.GetModelVersionRequest(
            user_app_id=USER_APP, model_id=MODEL_ID, version_id=model.model_version.id
        ),
        metadata=metadata,
    )
    assert version.model_version.id == model.model_version.id
    missing = stub.GetModelVersion(
        service_pb2.GetModelVersionRequest(
            user_app_id=USER_APP, model_id=MODEL_ID, version_id="f" * 32
        ),
        metadata=metadata,
    )
    assert missing.status.code == status_code_pb2.MODEL_DOES_NOT_EXIST
    assert "f" * 32 in missing.status.details


def test_unimplemented_rpc_answers_unimplemented(
    stub: service_pb2_grpc.V2Stub, metadata: Metadata
) -> None:
    with pytest.raises(grpc.RpcError) as info:
        request = service_pb2.ListWorkflowsRequest(user_app_id=USER_APP)
        stub.ListWorkflows(request, metadata=metadata)
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_json_channel_against_the_rest_port(server: ServerThread) -> None:
    stub = service_pb2_grpc.V2Stub(ClarifaiChannel.get_json_channel(base_url=server.rest_url))
    metadata = (("authorization", "Key " + server.pat),)
    response = stub.PostModelOutputs(
        service_pb2.PostModelOutputsRequest(
            user_app_id=USER_APP, model_id=MODEL_ID, inputs=[_text_input("hello", "j1")]
        ),
        metadata=metadata,
    )
    assert response.status.code == status_code_pb2.SUCCESS
    assert response.outputs[0].input.id == "j1"
    assert len(response.outputs[0].data.embeddings[0].vector) == 384
    versions = stub.ListModelVersions(
        service_pb2.ListModelVersionsRequest(user_app_id=USER_APP, model_id=MODEL_ID),
        metadata=metadata,
    )
    assert len(versions.model_versions) == 1
    info = stub.GetModelOutputInfo(
        service_pb2.GetModelRequest(user_app_id=USER_APP, model_id=MODEL_ID), metadata=metadata
    )
    assert info.model.model_type_id == "text-embedder"
