"""clarifai-grpc messages to domain values and back, on their own: no server, no weights."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from google.protobuf import json_format

from clarion.api.clarifai import convert
from clarion.auth import PUBLIC_USER
from clarion.catalog import MODEL_TYPES, PUBLIC_APP
from clarion.directory import ModelRef
from clarion.domain.generation import GenerationParams
from clarion.domain.models import Model, ModelVersion
from clarion.domain.output_config import ConceptRef, OutputConfig
from clarion.domain.prediction import Prediction
from clarion.domain.values import Concept, InputResult, Output, RawInput
from clarion.errors import InputInvalid, PredictionFailed, StatusCode, Throttled
from clarion.training_params import FIELDS

NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
APP = resources_pb2.UserAppIDSet(user_id="alice", app_id="notes")
MODEL = resources_pb2.Model(id="m", app_id="notes")


def _text(input_id: str, raw: str = "", url: str = "") -> resources_pb2.Input:
    return resources_pb2.Input(
        id=input_id, data=resources_pb2.Data(text=resources_pb2.Text(raw=raw, url=url))
    )


def _image(input_id: str, data: bytes = b"", url: str = "") -> resources_pb2.Input:
    return resources_pb2.Input(
        id=input_id, data=resources_pb2.Data(image=resources_pb2.Image(base64=data, url=url))
    )


def _with_params(params: dict[str, object], *, on_version: bool) -> resources_pb2.Model:
    model = resources_pb2.Model()
    info = model.model_version.output_info if on_version else model.output_info
    info.params.update(params)
    return model


def _prediction(*results: InputResult, unknown: tuple[str, ...] = ()) -> Prediction:
    model = Model("alice", "notes", "m", "text-embedder", "m", "", NOW)
    version = ModelVersion("v" * 32, "m", "", NOW, "r", {})
    return Prediction(model, version, results, unknown)


def _ok(input_id: str) -> InputResult:
    return InputResult(input_id, Output(text="fine"))


def _failed(input_id: str) -> InputResult:
    return InputResult(input_id, Output(error=InputInvalid(f"{input_id} is not text")))


# statuses -----------------------------------------------------------------------------------


def test_ok_and_error_statuses_carry_the_code_description_and_details() -> None:
    ok = convert.ok_status()
    assert (ok.code, ok.description) == (StatusCode.SUCCESS, "Ok")
    status = convert.error_status(PredictionFailed("the runner crashed"))
    assert status.code == StatusCode.MODEL_PREDICTION_FAILED
    assert status.description == "Model prediction failed"
    assert status.details == "the runner crashed"
    assert status.time_remaining == 0


@pytest.mark.parametrize(("retry_after_s", "seconds"), [(0.2, 1), (1.0, 1), (2.01, 3)])
def test_a_throttled_status_says_when_to_retry_in_whole_seconds_rounded_up(
    retry_after_s: float, seconds: int
) -> None:
    status = convert.error_status(Throttled("slow down", retry_after_s=retry_after_s))
    assert status.code == StatusCode.CONN_THROTTLED and status.time_remaining == seconds


def test_timestamps_keep_the_instant() -> None:
    assert convert.timestamp(NOW).ToDatetime(tzinfo=UTC) == NOW


# requests -> domain -------------------------------------------------------------------------


def test_model_ref_takes_the_version_from_the_request_or_its_model() -> None:
    by_field = service_pb2.GetModelRequest(user_app_id=APP, model_id="m", version_id="v1")
    assert convert.model_ref(by_field) == ModelRef("alice", "notes", "m", "v1")
    predict = service_pb2.PostModelOutputsRequest(user_app_id=APP, model_id="m")
    predict.model.model_version.id = "v2"
    assert convert.model_ref(predict) == ModelRef("alice", "notes", "m", "v2")
    predict.version_id = "v3"  # the request's own field wins
    assert convert.model_ref(predict) == ModelRef("alice", "notes", "m", "v3")


def test_model_ref_without_user_and_app_names_the_public_catalog() -> None:
    request = service_pb2.GetModelRequest(model_id="all-minilm-l6-v2")
    assert convert.model_ref(request) == ModelRef(PUBLIC_USER, PUBLIC_APP, "all-minilm-l6-v2")


def test_raw_inputs_keep_each_payload_and_the_request_order() -> None:
    request = service_pb2.PostModelOutputsRequest(
        inputs=[
            _text("a", raw="hello"),
            _text("b", url="https://example.com/a.txt"),
            _image("c", data=b"\x89PNG"),
            _image("d", url="https://example.com/cat.jpg"),
            _text("e", raw=""),
        ]
    )
    assert convert.raw_inputs(request) == [
        RawInput(id="a", text="hello"),
        RawInput(id="b", text_url="https://example.com/a.txt"),
        RawInput(id="c", image_bytes=b"\x89PNG"),
        RawInput(id="d", image_url="https://example.com/cat.jpg"),
        RawInput(id="e", text=""),  # empty text is still text, for the decoder to refuse
    ]


def test_an_input_without_text_has_no_text_and_one_without_an_id_gets_a_fresh_one() -> None:
    request = service_pb2.PostModelOutputsRequest(
        inputs=[resources_pb2.Input(), resources_pb2.Input()]
    )
    first, second = convert.raw_inputs(request)
    assert first.text is None and second.text is None
    assert len(first.id) == 32 and int(first.id, 16) >= 0
    assert first.id != second.id


def test_output_config_is_read_from_the_version_then_the_model() -> None:
    request = service_pb2.PostModelOutputsRequest()
    assert convert.output_config(request) == OutputConfig()
    config = request.model.output_info.output_config
    config.max_concepts = 3
    config.select_concepts.add(name="cat")
    assert convert.output_config(request) == OutputConfig(
        max_concepts=3, select_concepts=(ConceptRef(id="", name="cat"),)
    )
    on_version = request.model.model_version.output_info.output_config
    on_version.min_value = 0.5
    on_version.select_concepts.add(id="n02123045")
    assert convert.output_config(request) == OutputConfig(
        min_value=0.5, select_concepts=(ConceptRef(id="n02123045", name=""),)
    )


def test_generation_params_are_read_from_the_version_then_the_model() -> None:
    assert convert.generation_params(service_pb2.PostModelOutputsRequest()) is None
    request = service_pb2.PostModelOutputsRequest(
        model=_with_params({"temperature": 0.5, "stop": ["\n"]}, on_version=False)
    )
    assert convert.generation_params(request) == GenerationParams(temperature=0.5, stop=("\n",))
    request.model.model_version.output_info.params.update({"max_tokens": 8})
    assert convert.generation_params(request) == GenerationParams(max_tokens=8)


def test_empty_params_on_the_version_fall_back_to_the_model() -> None:
    request = service_pb2.PostModelOutputsRequest(
        model=_with_params({"top_k": 4}, on_version=False)
    )
    request.model.model_version.output_info.params.SetInParent()  # present, but empty
    assert request.model.model_version.output_info.HasField("params")
    assert convert.generation_params(request) == GenerationParams(top_k=4)


# domain -> responses ------------------------------------------------------------------------


def test_an_embedding_output_carries_its_vector_and_dimension() -> None:
    vector = np.array([0.25, -0.5, 1.0], dtype=np.float32)
    out = convert.output_pb(InputResult("i1", Output(embedding=vector)), MODEL)
    assert out.status.code == StatusCode.SUCCESS and out.input.id == "i1"
    assert out.model == MODEL and len(out.id) == 32
    (embedding,) = out.data.embeddings
    assert list(embedding.vector) == [0.25, -0.5, 1.0] and embedding.num_dimensions == 3
    assert not out.data.concepts and not out.data.HasField("text")


def test_concepts_keep_their_order_and_values_and_name_the_models_app() -> None:
    concepts = (Concept("n1", "tabby cat", 0.75), Concept("n2", "tiger cat", 0.125))
    out = convert.output_pb(InputResult("i1", Output(concepts=concepts)), MODEL)
    assert [(c.id, c.name, c.value, c.app_id) for c in out.data.concepts] == [
        ("n1", "tabby cat", 0.75, "notes"),
        ("n2", "tiger cat", 0.125, "notes"),
    ]


def test_generated_text_carries_its_token_counts_and_metadata() -> None:
    output = Output(
        text="Paris.",
        prompt_tokens=12,
        completion_tokens=3,
        logprob=-0.5,
        finish_reason="stop",
        reasoning="The capital of France",
        reasoning_tokens=5,
    )
    out = convert.output_pb(InputResult("q", output), MODEL)
    assert out.data.text.raw == "Paris."
    assert (out.prompt_tokens, out.completion_tokens) == (12, 3)
    assert json_format.MessageToDict(out.data.metadata) == {
        "finish_reason": "stop",
        "logprob": -0.5,
        "reasoning": "The capital of France",
        "reasoning_tokens": 5,
    }


def test_generation_metadata_names_only_what_the_output_has() -> None:
    assert convert.generation_metadata(Output(text="hi")) == {}
    assert convert.generation_metadata(Output(text="hi", finish_reason="length")) == {
        "finish_reason": "length"
    }
    assert convert.generation_metadata(Output(logprob=0.0)) == {"logprob": 0.0}


def test_a_failed_output_carries_only_its_status() -> None:
    failed = Output(text="ignored", error=InputInvalid("not an image"))
    out = convert.output_pb(InputResult("bad", failed), MODEL)
    assert out.status.code == StatusCode.INPUT_INVALID_ARGUMENT
    assert out.status.details == "not an image"
    assert out.input.id == "bad" and not out.HasField("data")


def test_a_prediction_where_every_input_succeeded_is_ok() -> None:
    response = convert.prediction_response(_prediction(_ok("a"), _ok("b")), MODEL)
    assert response.status.code == StatusCode.SUCCESS
    assert response.status.description == "Ok" and response.status.details == ""
    assert [o.input.id for o in response.outputs] == ["a", "b"]
    assert all(o.model == MODEL for o in response.outputs)


def test_a_prediction_with_some_failed_inputs_is_mixed_and_names_them() -> None:
    response = convert.prediction_response(_prediction(_ok("a"), _failed("b")), MODEL)
    assert response.status.code == StatusCode.MIXED_STATUS
    assert response.status.description == "Mixed Success"
    assert response.status.details == "input b: b is not text"
    assert [o.status.code for o in response.outputs] == [
        StatusCode.SUCCESS,
        StatusCode.INPUT_INVALID_ARGUMENT,
    ]


def test_a_prediction_where_every_input_failed_names_five_and_counts_the_rest() -> None:
    prediction = _prediction(*(_failed(f"i{n}") for n in range(7)))
    response = convert.prediction_response(prediction, MODEL)
    assert response.status.code == StatusCode.FAILURE
    assert response.status.description == "Failure"
    notes = response.status.details.split("; ")
    assert notes[:5] == [f"input i{n}: i{n} is not text" for n in range(5)]
    assert notes[5:] == ["... and 2 more failed inputs"]


def test_unknown_selected_concepts_make_a_success_mixed_and_are_named() -> None:
    response = convert.prediction_response(_prediction(_ok("a"), unknown=("goldfish",)), MODEL)
    assert response.status.code == StatusCode.MIXED_STATUS
    assert response.status.description == "Mixed Success: unknown concepts 'goldfish'"
    assert response.status.details == "unknown concepts ignored: 'goldfish'"


def test_model_types_list_their_fields_and_only_a_trainable_one_its_parameters() -> None:
    embedder = convert.model_type_pb(MODEL_TYPES["text-embedder"])
    assert embedder.id == "text-embedder" and not embedder.trainable
    assert list(embedder.input_fields) == list(MODEL_TYPES["text-embedder"].input_fields)
    assert not embedder.model_type_fields
    trainable = convert.model_type_pb(MODEL_TYPES["embedding-classifier"])
    assert trainable.trainable and trainable.creatable
    assert [f.path for f in trainable.model_type_fields] == [f.path for f in FIELDS]


def test_a_parameter_field_carries_its_default_range_and_options() -> None:
    by_kind = {f.kind: f for f in FIELDS}
    enum = convert.model_type_field_pb(by_kind["enum"])
    assert enum.field_type == resources_pb2.ModelTypeField.ENUM
    assert [o.id for o in enum.model_type_enum_options] == [i for i, _ in by_kind["enum"].options]
    assert enum.placeholder == by_kind["enum"].name
    ranged = next(f for f in FIELDS if f.minimum is not None and f.maximum is not None)
    pb = convert.model_type_field_pb(ranged)
    assert (pb.model_type_range_info.min, pb.model_type_range_info.max) == (
        pytest.approx(ranged.minimum),
        pytest.approx(ranged.maximum),
    )
    assert json_format.MessageToDict(pb.default_value) == ranged.default
