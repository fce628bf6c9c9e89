"""Every error class maps onto every wire through the one table."""

from __future__ import annotations

import grpc
from clarifai_grpc.grpc.api.status import status_code_pb2

from clarion import errors


def _subclasses(cls: type[errors.ClarionError]) -> list[type[errors.ClarionError]]:
    found: list[type[errors.ClarionError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found


def test_every_error_class_has_a_wire_mapping() -> None:
    classes: list[type[errors.ClarionError]] = [
        errors.ClarionError,
        *_subclasses(errors.ClarionError),
    ]
    for cls in classes:
        error = cls("details")
        assert error.code in errors.WIRE_STATUS, cls
        assert error.wire.http >= 200
        assert isinstance(error.wire.grpc, grpc.StatusCode)


def test_status_codes_match_clarifai_grpc() -> None:
    for code in errors.StatusCode:
        assert status_code_pb2.StatusCode.Value(code.name) == code.value


def test_details_and_description_are_kept() -> None:
    error = errors.InvalidParameter(
        "top_p must be in (0, 1], got 1.5.", parameter="top_p", value=1.5
    )
    assert error.details == "top_p must be in (0, 1], got 1.5."
    assert error.description == "Invalid model argument"
    assert error.wire.http == 400 and error.parameter == "top_p"
