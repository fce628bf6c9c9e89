"""Bulk-encoded embedding vectors are exactly what ``json_format`` writes."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from clarifai_grpc.grpc.api import service_pb2
from google.protobuf import json_format

from clarion.api.rest.proto_json import message_dict, shortest_floats


def _reference(vector: np.ndarray) -> list[object]:
    """json_format's own conversion of each float (through a one-field message)."""
    message = service_pb2.MultiOutputResponse()
    message.outputs.add().data.embeddings.add(vector=vector.tolist())
    body = json_format.MessageToDict(message)
    return list(body["outputs"][0]["data"]["embeddings"][0]["vector"])


def _edge_values() -> np.ndarray:
    f32 = np.finfo(np.float32)
    named = [0.0, -0.0, 1.0, -1.0, 0.1, 0.9, 1e-4, 9.999999e-5, 1e-5, 1e-7, 1e-8, 123456.7]
    named += [float(f32.tiny), float(f32.smallest_subnormal)]
    named += [1e5, 99999.99, 1e6, 1e7, 1e12, 3.4028235e38]
    named += [-float(f32.tiny), float(f32.eps), float("nan"), float("inf"), float("-inf")]
    powers = [s * 10.0**e for e in range(-45, 39) for s in (1.0, -1.0)]
    with np.errstate(over="ignore", under="ignore"):
        values = np.array(named + powers, dtype=np.float32)
    # each power of ten's float32 neighbours, where the decimal exponent changes
    with np.errstate(over="ignore"):
        above = np.nextafter(values, np.float32(np.inf))
        below = np.nextafter(values, np.float32(-np.inf))
    return np.concatenate([values, above, below])


def test_edge_values_match_json_format() -> None:
    values = _edge_values()
    assert json.dumps(shortest_floats(values)) == json.dumps(_reference(values))


@pytest.mark.parametrize("seed", range(2))
def test_random_vectors_match_json_format(seed: int) -> None:
    rng = np.random.default_rng(seed)
    embeddings = (rng.standard_normal(5_000) / 20).astype(np.float32)
    uniform = rng.uniform(-1, 1, 5_000).astype(np.float32)
    scaled = (rng.standard_normal(5_000) * 10.0 ** rng.integers(-40, 38, 5_000)).astype(np.float32)
    bits = rng.integers(0, 2**32, 5_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    for vector in (embeddings, uniform, scaled, bits):
        assert json.dumps(shortest_floats(vector)) == json.dumps(_reference(vector))


def _response(rng: np.random.Generator) -> service_pb2.MultiOutputResponse:
    response = service_pb2.MultiOutputResponse()
    response.status.code = 10000
    for n in range(6):
        output = response.outputs.add(id=f"out-{n}")
        output.status.code = 10000
        output.data.text.raw = "kept as it is"
        if n == 2:
            output.data.concepts.add(id="cat", value=0.25)
            continue  # an output without embeddings
        vector = (rng.standard_normal(384) / 20).astype(np.float32)
        output.data.embeddings.add(vector=vector.tolist(), num_dimensions=384)
        if n == 4:
            output.data.embeddings.add(num_dimensions=0)  # an empty one
            output.data.embeddings.add(vector=[1.5, float("nan")], num_dimensions=2)
    return response


def test_message_dict_is_json_format_byte_for_byte() -> None:
    response = _response(np.random.default_rng(7))
    expected = json_format.MessageToDict(
        response, preserving_proto_field_name=True, use_integers_for_enums=True
    )
    got = message_dict(response)
    assert json.dumps(got) == json.dumps(expected)  # same keys in the same order, same values
    assert response.outputs[0].data.embeddings[0].vector  # the message is left as it was
    parsed = json_format.ParseDict(got, service_pb2.MultiOutputResponse())
    assert parsed == response  # the official JSON channel reads it back the same


def _with_models(response: service_pb2.MultiOutputResponse, *names: str) -> None:
    for output, name in zip(response.outputs, names, strict=True):
        output.model.id = "m"
        output.model.name = name
        output.model.model_version.id = "v" * 32
        output.model.model_version.status.code = 21100
        output.input.id = f"in-{output.id}"


@pytest.mark.parametrize(
    "names",
    [("same",) * 6, ("same",) * 5 + ("other",)],
    ids=["one model in every output", "models that differ"],
)
def test_the_model_each_output_repeats_comes_out_as_json_format_writes_it(
    names: tuple[str, ...],
) -> None:
    response = _response(np.random.default_rng(3))
    _with_models(response, *names)
    expected = json_format.MessageToDict(
        response, preserving_proto_field_name=True, use_integers_for_enums=True
    )
    assert json.dumps(message_dict(response)) == json.dumps(expected)
    assert response.outputs[0].model.name == names[0]  # the message is left as it was
    del response.outputs[0].data.embeddings[:]
    del response.outputs[1].data.embeddings[:]  # models, and no vectors in some outputs
    expected = json_format.MessageToDict(
        response, preserving_proto_field_name=True, use_integers_for_enums=True
    )
    assert json.dumps(message_dict(response)) == json.dumps(expected)


def test_messages_without_embeddings_go_through_json_format() -> None:
    message = service_pb2.SingleModelResponse()
    message.status.code = 10000
    message.model.id = "m"
    expected = json_format.MessageToDict(
        message, preserving_proto_field_name=True, use_integers_for_enums=True
    )
    assert message_dict(message) == expected


def test_bulk_encoding_is_much_faster(capsys: pytest.CaptureFixture[str]) -> None:
    """128 x 384 floats: timed against json_format in the same process, best of 3."""
    rng = np.random.default_rng(0)
    response = service_pb2.MultiOutputResponse()
    for _ in range(128):
        vector = (rng.standard_normal(384) / 20).astype(np.float32)
        response.outputs.add().data.embeddings.add(vector=vector.tolist(), num_dimensions=384)

    def best(encode: object) -> float:
        times = []
        for _ in range(3):
            started = time.perf_counter()
            encode()  # type: ignore[operator]
            times.append(time.perf_counter() - started)
        return min(times)

    reference = best(
        lambda: json_format.MessageToDict(
            response, preserving_proto_field_name=True, use_integers_for_enums=True
        )
    )
    bulk = best(lambda: message_dict(response))
    with capsys.disabled():
        print(
            f"\n128 x 384 floats: json_format {reference * 1000:.1f} ms, bulk {bulk * 1000:.1f} ms"
        )
    assert bulk * 4 < reference
