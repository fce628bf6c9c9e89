"""Response messages as protobuf JSON, with embedding vectors encoded in bulk.

``json_format`` converts each float of a message in Python (``ToShortestFloat``: the
shortest ``%g`` of 6 to 9 digits that reads back as the same float32), which dominates a
response of 128 x 384 floats. Here the embeddings' vectors are taken out of a copy of the
message, the rest goes through ``json_format`` as before, and the vectors are put back as
the very same values, computed with numpy. The model every output of a response repeats is
converted once, when they all repeat the same one:

    body = message_dict(response)   # == json_format.MessageToDict(response, ...)

For a precision ``p`` and a float ``x`` whose decimal exponent is ``e``, ``%.{p}g`` is
``m / 10**s`` with ``s = p - 1 - e`` and ``m`` the integer nearest ``|x| * 10**s`` (ties to
even). That product is exact in a double when ``0 <= s <= 12`` (24 bits of float32 times at
most 28 bits of ``5**s``), and in numpy's extended ``longdouble`` (64 bits where the platform
has them) up to ``s = 17``, so ``rint`` rounds it exactly as the decimal conversion does;
``m`` and ``10**s`` are exact doubles, so their division is the correctly rounded reading of
the decimal, as ``float()`` of the string is. Values outside that range (magnitudes below
about 1e-9 or above 1e9), zeros and non-finite values take ``json_format``'s own path, one
by one.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt
from google.protobuf import json_format
from google.protobuf.internal import type_checkers
from google.protobuf.message import Message

#: The largest scale ``s`` for which ``|x| * 10**s`` is exact in a double, and in a longdouble.
_DOUBLE_SCALE = 12
_WIDE_SCALE = max(
    s for s in range(23) if 24 + (5**s).bit_length() <= np.finfo(np.longdouble).nmant + 1
)
#: The largest scale either exact path takes, and 10**s for each (exact doubles to 10**22).
_MAX_SCALE = max(_DOUBLE_SCALE, _WIDE_SCALE)
_SCALES = np.array([float(10**s) for s in range(_MAX_SCALE + 1)])
_WIDE_SCALES = _SCALES.astype(np.longdouble)
#: Decimal exponents float32 magnitudes can have, and the double nearest each 10**e.
_LOWEST_EXPONENT = -46
_POWERS = np.array([float(Fraction(10) ** e) for e in range(_LOWEST_EXPONENT, 40)])


def message_dict(message: Message) -> dict[str, Any]:
    """``json_format.MessageToDict`` with proto field names and enums as integers."""
    embeddings = _embeddings(message)
    model = _shared_model(message)
    if not embeddings and model is None:
        return _to_dict(message)
    vectors = [np.array(embedding.vector, dtype=np.float32) for embedding in embeddings]
    bare = type(message)()
    bare.CopyFrom(message)
    for embedding in _embeddings(bare):
        embedding.ClearField("vector")
    if model is not None:
        for output in _outputs(bare):
            output.ClearField("model")
    body = _to_dict(bare)
    if model is not None:
        shared = _to_dict(model)  # one dict in every output: orjson writes each copy alike
        numbers = {f.name: f.number for f in _outputs(message)[0].DESCRIPTOR.fields}
        body["outputs"] = [_with_model(place, shared, numbers) for place in body["outputs"]]
    if not embeddings:
        return body
    values = shortest_floats(np.concatenate(vectors))
    start = 0
    places = [e for o in body.get("outputs", ()) for e in o.get("data", {}).get("embeddings", ())]
    for place, vector in zip(places, vectors, strict=True):
        end = start + vector.shape[0]
        if end > start:
            vector_first = {"vector": values[start:end], **place}
            place.clear()
            place.update(vector_first)
        start = end
    return body


def _to_dict(message: Message) -> dict[str, Any]:
    body: dict[str, Any] = json_format.MessageToDict(
        message, preserving_proto_field_name=True, use_integers_for_enums=True
    )
    return body


def _outputs(message: Message) -> Any:
    """A response's ``outputs`` (Clarifai ``Output`` messages), or none."""
    field = message.DESCRIPTOR.fields_by_name.get("outputs")
    if field is None or field.message_type is None or field.message_type.name != "Output":
        return ()
    return message.outputs  # type: ignore[attr-defined]


def _embeddings(message: Message) -> list[Any]:
    """The embeddings of a response's outputs (``outputs[].data.embeddings[]``)."""
    return [embedding for output in _outputs(message) for embedding in output.data.embeddings]


def _shared_model(message: Message) -> Message | None:
    """The model each of a response's several outputs names, when they all name the same."""
    outputs = _outputs(message)
    if len(outputs) < 2 or not all(output.HasField("model") for output in outputs):
        return None
    first: Message = outputs[0].model
    return first if all(output.model == first for output in outputs) else None


def _with_model(
    place: dict[str, Any], model: dict[str, Any], numbers: dict[str, int]
) -> dict[str, Any]:
    """An output's dict with ``model`` among its fields where ``json_format`` puts it: in
    the order of the fields' ``numbers``."""
    placed: dict[str, Any] = {}
    for key, value in place.items():
        if "model" not in placed and numbers[key] > numbers["model"]:
            placed["model"] = model
        placed[key] = value
    placed.setdefault("model", model)
    return placed


def shortest_floats(vector: npt.NDArray[np.float32]) -> list[Any]:
    """Each float32 as ``json_format`` writes it: ``ToShortestFloat`` for finite values,
    ``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` otherwise."""
    with np.errstate(all="ignore"):  # NaNs (signalling ones too) go the slow path
        x = vector.astype(np.float64)
        magnitude = np.abs(x)
        out = np.zeros_like(x)
        pending = np.isfinite(x) & (magnitude > 0)
        exponent = np.zeros(x.shape, dtype=np.int64)
        exponent[pending] = np.floor(np.log10(magnitude[pending])).astype(np.int64)
        exponent -= (magnitude < _POWERS[exponent - _LOWEST_EXPONENT]) & pending
        exponent += (magnitude >= _POWERS[exponent + 1 - _LOWEST_EXPONENT]) & pending
        slow = ~pending
        for precision in range(6, 10):
            scale = precision - 1 - exponent
            exact = (scale >= 0) & (scale <= _MAX_SCALE)
            slow |= pending & ~exact
            pending &= exact
            index = np.flatnonzero(pending)
            value = _digits(magnitude[index], scale[index]) / _SCALES[scale[index]]
            value = np.copysign(value, x[index])
            same = value.astype(np.float32) == vector[index]
            out[index[same]] = value[same]
            pending[index[same]] = False
        slow |= pending  # never: every float32 reads back from 9 digits
    values: list[Any] = out.tolist()
    for i in np.flatnonzero(slow).tolist():
        values[i] = _one(float(x[i]))
    return values


def _digits(magnitude: npt.NDArray[np.float64], scale: npt.NDArray[np.int64]) -> Any:
    """The integers nearest ``magnitude * 10**scale`` (ties to even), exactly: in doubles up
    to scale 12, in longdoubles above it."""
    digits = np.rint(magnitude * _SCALES[scale])
    wide = np.flatnonzero(scale > _DOUBLE_SCALE)
    if wide.size:
        product = magnitude[wide].astype(np.longdouble) * _WIDE_SCALES[scale[wide]]
        digits[wide] = np.rint(product).astype(np.float64)
    return digits


def _one(value: float) -> Any:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return type_checkers.ToShortestFloat(value)
