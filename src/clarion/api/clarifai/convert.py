"""Conversions between clarifai-grpc messages and Clarion's domain values."""

from __future__ import annotations

import math
import uuid
from dataclasses import replace
from typing import Any

from clarifai_grpc.grpc.api import resources_pb2, service_pb2
from clarifai_grpc.grpc.api.status import status_pb2
from google.protobuf import json_format, struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from clarion import training_params
from clarion.catalog import ModelType
from clarion.directory import ModelRef
from clarion.domain.generation import GenerationParams
from clarion.domain.models import Model, ModelVersion, TrainingState
from clarion.domain.output_config import ConceptRef, OutputConfig
from clarion.domain.prediction import Prediction
from clarion.domain.values import Concept, InputResult, Output, RawInput
from clarion.errors import ClarionError, StatusCode, Throttled
from clarion.service import StreamEvent

_DESCRIPTIONS = {StatusCode.SUCCESS: "Ok", StatusCode.MIXED_STATUS: "Mixed Success"}


def ok_status() -> status_pb2.Status:
    return status_pb2.Status(code=StatusCode.SUCCESS, description="Ok")


def error_status(error: ClarionError) -> status_pb2.Status:
    """The status of ``error``; a throttled call's retry hint goes in ``time_remaining``."""
    status = status_pb2.Status(
        code=error.code, description=error.description, details=error.details
    )
    if isinstance(error, Throttled):
        status.time_remaining = max(1, math.ceil(error.retry_after_s))
    return status


def timestamp(value: Any) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


# requests -> domain -------------------------------------------------------------------


def model_ref(request: Any) -> ModelRef:
    """The model a Get/Post request names; ``model.model_version.id`` also names a version."""
    version_id = request.version_id if hasattr(request, "version_id") else ""
    if not version_id and hasattr(request, "model"):
        version_id = request.model.model_version.id
    return ModelRef.of(
        request.user_app_id.user_id, request.user_app_id.app_id, request.model_id, version_id
    )


def raw_inputs(request: service_pb2.PostModelOutputsRequest) -> list[RawInput]:
    """The request's inputs; an input without an id gets a fresh one, as Clarifai does."""
    return [replace(raw, id=raw.id or uuid.uuid4().hex) for raw in map(raw_input, request.inputs)]


def raw_input(item: resources_pb2.Input) -> RawInput:
    """An input's payload as it arrived (its id as given, possibly empty)."""
    data = item.data
    return RawInput(
        id=item.id,
        text=data.text.raw if data.HasField("text") and not data.text.url else None,
        text_url=data.text.url,
        image_bytes=data.image.base64,
        image_url=data.image.url,
    )


def output_config(request: service_pb2.PostModelOutputsRequest) -> OutputConfig:
    """``output_info.output_config`` from ``model.model_version`` or, failing that, ``model``."""
    for info in (request.model.model_version.output_info, request.model.output_info):
        if info.HasField("output_config"):
            config = info.output_config
            return OutputConfig(
                max_concepts=config.max_concepts,
                min_value=config.min_value,
                select_concepts=tuple(
                    ConceptRef(id=c.id, name=c.name) for c in config.select_concepts
                ),
            )
    return OutputConfig()


def generation_params(request: service_pb2.PostModelOutputsRequest) -> GenerationParams | None:
    """``output_info.params`` from ``model.model_version`` or, failing that, from ``model``,
    parsed from their Struct form; None when the request sets none."""
    for info in (request.model.model_version.output_info, request.model.output_info):
        if info.HasField("params") and info.params.fields:
            return GenerationParams.parse(json_format.MessageToDict(info.params))
    return None


# domain -> responses ------------------------------------------------------------------


_FIELD_TYPES = {
    "number": resources_pb2.ModelTypeField.NUMBER,
    "integer": resources_pb2.ModelTypeField.NUMBER,
    "string": resources_pb2.ModelTypeField.STRING,
    "enum": resources_pb2.ModelTypeField.ENUM,
    "boolean": resources_pb2.ModelTypeField.BOOLEAN,
    "concepts": resources_pb2.ModelTypeField.ARRAY_OF_CONCEPTS,
    "dataset_id": resources_pb2.ModelTypeField.DATASET_ID,
    "dataset_version_id": resources_pb2.ModelTypeField.DATASET_VERSION_ID,
}


def model_type_pb(model_type: ModelType) -> resources_pb2.ModelType:
    pb = resources_pb2.ModelType(
        id=model_type.id,
        title=model_type.title,
        description=model_type.description,
        input_fields=list(model_type.input_fields),
        output_fields=list(model_type.output_fields),
        trainable=model_type.trainable,
        creatable=model_type.trainable,
    )
    if model_type.trainable:
        pb.model_type_fields.extend(model_type_field_pb(f) for f in training_params.FIELDS)
    return pb


def model_type_field_pb(spec: training_params.Field) -> resources_pb2.ModelTypeField:
    pb = resources_pb2.ModelTypeField(
        path=spec.path,
        field_type=_FIELD_TYPES[spec.kind],
        description=spec.description,
        required=spec.required,
        placeholder=spec.name,
    )
    pb.default_value.CopyFrom(_value(spec.default))
    pb.model_type_enum_options.extend(
        resources_pb2.ModelTypeEnumOption(id=option, description=text)
        for option, text in spec.options
    )
    if spec.minimum is not None and spec.maximum is not None:
        pb.model_type_range_info.min = spec.minimum
        pb.model_type_range_info.max = spec.maximum
    return pb


def _value(value: Any) -> struct_pb2.Value:
    pb = struct_pb2.Value()
    json_format.ParseDict(value, pb)
    return pb


def concepts_pb(concepts: list[Concept]) -> list[resources_pb2.Concept]:
    return [resources_pb2.Concept(id=c.id, name=c.name, value=1.0) for c in concepts]


def version_pb(
    model: Model,
    version: ModelVersion,
    concepts: list[Concept] | None = None,
    training: TrainingState | None = None,
) -> resources_pb2.ModelVersion:
    """A version; a trained one also carries its training status, snapshot and metrics."""
    pb = resources_pb2.ModelVersion(
        id=version.id,
        created_at=timestamp(version.created_at),
        status=status_pb2.Status(
            code=StatusCode.MODEL_TRAINED, description="Model is trained and ready"
        ),
        description=version.description,
        app_id=model.app_id,
        user_id=model.user_id,
    )
    if training is None:
        pb.completed_at.CopyFrom(timestamp(version.created_at))
    else:
        pb.status.CopyFrom(
            status_pb2.Status(code=training.status, description=training.description)
        )
        if training.ready:
            pb.completed_at.CopyFrom(timestamp(training.updated_at))
        pb.total_input_count = len(training.input_ids)
        pb.metadata.update({"training": dict(training.report)})
        metrics = training.metrics
        if metrics is not None:
            pb.metrics.status.code = StatusCode.MODEL_TRAINED
            pb.metrics.summary.top1_accuracy = metrics.accuracy
            pb.metrics.summary.macro_avg_precision = metrics.macro_precision
            pb.metrics.summary.macro_avg_recall = metrics.macro_recall
    if concepts:
        pb.output_info.data.concepts.extend(concepts_pb(concepts))
        pb.active_concept_count = len(concepts)
    return pb


def model_pb(
    model: Model,
    version: ModelVersion | None = None,
    concepts: list[Concept] | None = None,
    training: TrainingState | None = None,
) -> resources_pb2.Model:
    pb = resources_pb2.Model(
        id=model.model_id,
        name=model.name,
        display_name=model.name,
        created_at=timestamp(model.created_at),
        app_id=model.app_id,
        user_id=model.user_id,
        model_type_id=model.model_type_id,
        description=model.description,
    )
    if version is not None:
        pb.model_version.CopyFrom(version_pb(model, version, concepts, training))
    if concepts:
        pb.output_info.data.concepts.extend(concepts_pb(concepts))
    return pb


def output_pb(result: InputResult, model: resources_pb2.Model) -> resources_pb2.Output:
    out = resources_pb2.Output(
        id=uuid.uuid4().hex,
        input=resources_pb2.Input(id=result.input_id),
        model=model,
    )
    error = result.output.error
    if error is not None:
        out.status.CopyFrom(error_status(error))
        return out
    out.status.CopyFrom(ok_status())
    data = result.output
    out.prompt_tokens = data.prompt_tokens
    out.completion_tokens = data.completion_tokens
    extras = generation_metadata(data)
    if extras:
        out.data.metadata.update(extras)
    if data.embedding is not None:
        out.data.embeddings.add(
            vector=data.embedding.tolist(), num_dimensions=int(data.embedding.shape[0])
        )
    if data.concepts:
        out.data.concepts.extend(
            resources_pb2.Concept(id=c.id, name=c.name, value=c.value, app_id=model.app_id)
            for c in data.concepts
        )
    if data.text is not None:
        out.data.text.raw = data.text
    return out


def generation_metadata(output: Output) -> dict[str, Any]:
    """What a text generation reports beside its text, for ``data.metadata``."""
    extras: dict[str, Any] = {}
    if output.finish_reason:
        extras["finish_reason"] = output.finish_reason
    if output.logprob is not None:
        extras["logprob"] = output.logprob
    if output.reasoning is not None:
        extras["reasoning"] = output.reasoning
        extras["reasoning_tokens"] = output.reasoning_tokens
    return extras


def stream_response(event: StreamEvent) -> service_pb2.MultiOutputResponse:
    """One streamed piece (or an input's final summary) as a response message."""
    result = InputResult(event.input_id, event.output)
    response = service_pb2.MultiOutputResponse(
        outputs=[output_pb(result, model_pb(event.model, event.version))]
    )
    error = event.output.error
    response.status.CopyFrom(error_status(error) if error is not None else ok_status())
    return response


def prediction_response(
    prediction: Prediction, model: resources_pb2.Model
) -> service_pb2.MultiOutputResponse:
    code = prediction.status
    response = service_pb2.MultiOutputResponse(
        outputs=[output_pb(r, model) for r in prediction.results]
    )
    response.status.code = code
    response.status.description = _DESCRIPTIONS.get(code, "Failure")
    notes = []
    if prediction.unknown_concepts:
        unknown = ", ".join(repr(u) for u in prediction.unknown_concepts)
        notes.append(f"unknown concepts ignored: {unknown}")
        response.status.description += f": unknown concepts {unknown}"
    failed = [r for r in prediction.results if r.output.error is not None]
    notes.extend(f"input {r.input_id}: {r.output.error}" for r in failed[:5])
    if len(failed) > 5:
        notes.append(f"... and {len(failed) - 5} more failed inputs")
    response.status.details = "; ".join(notes)
    return response
