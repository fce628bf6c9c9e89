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


#: The gRPC code of every error class, as the servicer sends it (UNIMPLEMENTED for a missing
#: RPC) and as clients that want a transport-level view read it.
GRPC_CODES = {
    errors.ClarionError: grpc.StatusCode.UNKNOWN,
    errors.AuthError: grpc.StatusCode.UNKNOWN,
    errors.MissingKey: grpc.StatusCode.INVALID_ARGUMENT,
    errors.KeyNotFound: grpc.StatusCode.UNAUTHENTICATED,
    errors.KeyInvalid: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Throttled: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.NotFound: grpc.StatusCode.UNKNOWN,
    errors.ResourceNotFound: grpc.StatusCode.NOT_FOUND,
    errors.ModelNotFound: grpc.StatusCode.NOT_FOUND,
    errors.InvalidRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidParameter: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InvalidPredictRequest: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InputError: grpc.StatusCode.UNKNOWN,
    errors.InputDownloadFailed: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InputUnsupported: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InputInvalid: grpc.StatusCode.INVALID_ARGUMENT,
    errors.InputOverLimit: grpc.StatusCode.INVALID_ARGUMENT,
    errors.ModelUnavailable: grpc.StatusCode.UNKNOWN,
    errors.ModelBusy: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.ModelLoading: grpc.StatusCode.UNAVAILABLE,
    errors.ModelNotReady: grpc.StatusCode.FAILED_PRECONDITION,
    errors.PredictionFailed: grpc.StatusCode.INTERNAL,
    errors.NotImplementedFeature: grpc.StatusCode.UNIMPLEMENTED,
    errors.InternalError: grpc.StatusCode.INTERNAL,
    errors.TrainingRefused: grpc.StatusCode.FAILED_PRECONDITION,
}


def test_every_error_class_of_the_tree_has_its_grpc_code() -> None:
    tree = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.ClarionError)
        and cls.__module__ == errors.__name__
    }
    assert tree == set(GRPC_CODES)
    for cls, code in GRPC_CODES.items():
        assert cls("details").wire.grpc == code, cls
