"""Clarion's one exception tree and the table that maps it onto every wire.

Every failure a user can see is a :class:`ClarionError`. Each class carries its Clarifai
status code; :data:`WIRE_STATUS` gives the HTTP status and gRPC code for each Clarifai code,
so the gRPC servicer, the REST gateway and the CLI cannot drift apart::

    ClarionError                      10020 FAILURE
    ├── AuthError
    │   ├── MissingKey                11102 CONN_INVALID_REQUEST
    │   ├── KeyNotFound               11009 CONN_KEY_NOT_FOUND
    │   ├── KeyInvalid                11008 CONN_KEY_INVALID (revoked)
    │   └── PermissionDenied          11007 CONN_INSUFFICIENT_SCOPES
    ├── Throttled                     11005 CONN_THROTTLED (a key over its rate or share)
    ├── NotFound
    │   ├── ResourceNotFound          11101 CONN_DOES_NOT_EXIST (user, app, model type)
    │   └── ModelNotFound             21200 MODEL_DOES_NOT_EXIST (model or version)
    ├── InvalidRequest                11102 CONN_INVALID_REQUEST (malformed request)
    │   ├── InvalidParameter          21202 MODEL_INVALID_ARGUMENT
    │   └── InvalidPredictRequest     40001 PREDICT_INVALID_REQUEST (batch size, no inputs)
    ├── InputError                    (per input; lands in outputs[i].status)
    │   ├── InputDownloadFailed       30002 INPUT_DOWNLOAD_FAILED
    │   ├── InputUnsupported          30101 INPUT_UNSUPPORTED_FORMAT
    │   ├── InputInvalid              30104 INPUT_INVALID_ARGUMENT
    │   └── InputOverLimit            30105 INPUT_OVER_LIMIT
    ├── ModelUnavailable
    │   ├── ModelBusy                 21354 MODEL_BUSY_PLEASE_RETRY
    │   └── ModelLoading              21355 MODEL_LOADING
    ├── ModelNotReady                 211xx the version's training status (queued, failed...)
    ├── PredictionFailed              21313 MODEL_PREDICTION_FAILED
    ├── NotImplementedFeature         10040 NOT_IMPLEMENTED
    └── InternalError                 98004 INTERNAL_SERVER_ISSUE

Foreign exceptions are converted where they enter (``raise PredictionFailed(...) from exc``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grpc import StatusCode as GrpcCode


class StatusCode(IntEnum):
    """The Clarifai status codes Clarion answers with (values of ``status_code_pb2``)."""

    SUCCESS = 10000
    MIXED_STATUS = 10010
    FAILURE = 10020
    NOT_IMPLEMENTED = 10040
    CONN_THROTTLED = 11005
    CONN_INSUFFICIENT_SCOPES = 11007
    CONN_KEY_INVALID = 11008
    CONN_KEY_NOT_FOUND = 11009
    CONN_DOES_NOT_EXIST = 11101
    CONN_INVALID_REQUEST = 11102
    MODEL_TRAINED = 21100
    MODEL_TRAINING = 21101
    MODEL_QUEUED_FOR_TRAINING = 21103
    MODEL_TRAINING_FAILED = 21106
    MODEL_TRAINING_NO_DATA = 21110
    MODEL_TRAINING_NO_POSITIVES = 21111
    MODEL_DOES_NOT_EXIST = 21200
    MODEL_PERMISSION_DENIED = 21201
    MODEL_INVALID_ARGUMENT = 21202
    MODEL_INVALID_REQUEST = 21203
    MODEL_PREDICTION_FAILED = 21313
    MODEL_DEPLOYING = 21351
    MODEL_BUSY_PLEASE_RETRY = 21354
    MODEL_LOADING = 21355
    INPUT_DOWNLOAD_FAILED = 30002
    INPUT_UNSUPPORTED_FORMAT = 30101
    INPUT_INVALID_ARGUMENT = 30104
    INPUT_OVER_LIMIT = 30105
    PREDICT_INVALID_REQUEST = 40001
    INTERNAL_SERVER_ISSUE = 98004


@dataclass(frozen=True)
class WireStatus:
    """How one Clarifai status travels on the other wires."""

    http: int
    #: The name of the gRPC code (a ``grpc.StatusCode`` member), so that importing the
    #: error tree does not load grpc; :attr:`grpc` gives the code itself.
    grpc_name: str

    @property
    def grpc(self) -> GrpcCode:
        from grpc import StatusCode as GrpcCode

        return GrpcCode[self.grpc_name]


#: The one mapping from a Clarifai status code to its HTTP status and gRPC code. Clarifai
#: answers over gRPC with OK and the status in the body; the gRPC code here is used only where
#: a request never reaches a servicer method (and by clients that want a transport-level view).
WIRE_STATUS: dict[StatusCode, WireStatus] = {
    StatusCode.SUCCESS: WireStatus(200, "OK"),
    StatusCode.MIXED_STATUS: WireStatus(200, "OK"),
    StatusCode.FAILURE: WireStatus(500, "UNKNOWN"),
    StatusCode.NOT_IMPLEMENTED: WireStatus(501, "UNIMPLEMENTED"),
    StatusCode.CONN_THROTTLED: WireStatus(429, "RESOURCE_EXHAUSTED"),
    StatusCode.CONN_INSUFFICIENT_SCOPES: WireStatus(403, "PERMISSION_DENIED"),
    StatusCode.CONN_KEY_INVALID: WireStatus(401, "UNAUTHENTICATED"),
    StatusCode.CONN_KEY_NOT_FOUND: WireStatus(401, "UNAUTHENTICATED"),
    StatusCode.CONN_DOES_NOT_EXIST: WireStatus(404, "NOT_FOUND"),
    StatusCode.CONN_INVALID_REQUEST: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.MODEL_TRAINED: WireStatus(200, "OK"),
    StatusCode.MODEL_TRAINING: WireStatus(409, "FAILED_PRECONDITION"),
    StatusCode.MODEL_QUEUED_FOR_TRAINING: WireStatus(409, "FAILED_PRECONDITION"),
    StatusCode.MODEL_TRAINING_FAILED: WireStatus(409, "FAILED_PRECONDITION"),
    StatusCode.MODEL_TRAINING_NO_DATA: WireStatus(409, "FAILED_PRECONDITION"),
    StatusCode.MODEL_TRAINING_NO_POSITIVES: WireStatus(409, "FAILED_PRECONDITION"),
    StatusCode.MODEL_DOES_NOT_EXIST: WireStatus(404, "NOT_FOUND"),
    StatusCode.MODEL_PERMISSION_DENIED: WireStatus(403, "PERMISSION_DENIED"),
    StatusCode.MODEL_INVALID_ARGUMENT: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.MODEL_INVALID_REQUEST: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.MODEL_PREDICTION_FAILED: WireStatus(500, "INTERNAL"),
    StatusCode.MODEL_DEPLOYING: WireStatus(503, "UNAVAILABLE"),
    StatusCode.MODEL_BUSY_PLEASE_RETRY: WireStatus(429, "RESOURCE_EXHAUSTED"),
    StatusCode.MODEL_LOADING: WireStatus(503, "UNAVAILABLE"),
    StatusCode.INPUT_DOWNLOAD_FAILED: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.INPUT_UNSUPPORTED_FORMAT: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.INPUT_INVALID_ARGUMENT: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.INPUT_OVER_LIMIT: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.PREDICT_INVALID_REQUEST: WireStatus(400, "INVALID_ARGUMENT"),
    StatusCode.INTERNAL_SERVER_ISSUE: WireStatus(500, "INTERNAL"),
}


def response_http_status(code: int, output_codes: Iterable[int] = ()) -> int:
    """The HTTP status of a response whose body status is ``code``.

    A FAILURE (10020) is judged by its outputs' own codes: when every input failed for a
    reason of its own (an undecodable image, a refused URL, a prompt over the context) the
    request failed through its inputs and the answer is theirs (a 4xx: the one they share,
    else 400). It is a 5xx only when an output failed through a server fault, or when there
    are no outputs to judge by. Codes outside the table answer 200, as their body says it all.
    """
    try:
        status = StatusCode(code)
    except ValueError:
        return 200
    if status is not StatusCode.FAILURE:
        return WIRE_STATUS[status].http
    https = {_http_of(c) for c in output_codes}
    if not https:
        return WIRE_STATUS[status].http
    if max(https) >= 500:
        return max(https)
    return https.pop() if len(https) == 1 else 400


def _http_of(code: int) -> int:
    try:
        return WIRE_STATUS[StatusCode(code)].http
    except ValueError:
        return 500


class ClarionError(Exception):
    """Base of every error Clarion reports to a user.

    ``description`` is the short Clarifai-style summary; ``details`` says exactly what was
    wrong and what is allowed.
    """

    code: StatusCode = StatusCode.FAILURE
    description: str = "Failure"

    def __init__(self, details: str = "", *, description: str | None = None) -> None:
        super().__init__(details or self.description)
        self.details = details
        if description is not None:
            self.description = description

    #: An HTTP status that differs from the table's for this code (e.g. 401 for a missing
    #: key, whose Clarifai code 11102 also means "malformed request").
    http_override: int | None = None

    @property
    def wire(self) -> WireStatus:
        return WIRE_STATUS[self.code]

    @property
    def http_status(self) -> int:
        return self.http_override or self.wire.http


class AuthError(ClarionError):
    """The caller could not be identified or may not do this."""

    http_override = 401


class MissingKey(AuthError):
    code = StatusCode.CONN_INVALID_REQUEST
    description = "Missing API key"


class KeyNotFound(AuthError):
    code = StatusCode.CONN_KEY_NOT_FOUND
    description = "API key not found"


class KeyInvalid(AuthError):
    code = StatusCode.CONN_KEY_INVALID
    description = "Invalid API key or revoked"


class PermissionDenied(AuthError):
    """The caller may see this resource but not change it (e.g. the public app)."""

    code = StatusCode.CONN_INSUFFICIENT_SCOPES
    description = "Insufficient scopes"
    http_override = 403


class Throttled(ClarionError):
    """The key is over its request rate or its share of concurrent generations.

    ``retry_after_s`` is how long to wait before retrying; it travels as the status's
    ``time_remaining`` (whole seconds, rounded up), as ``Retry-After`` / ``retry-after-ms``
    HTTP headers and as ``retry-after`` gRPC trailing metadata.
    """

    code = StatusCode.CONN_THROTTLED
    description = "Too many requests for this key"

    def __init__(self, details: str = "", *, retry_after_s: float = 1.0) -> None:
        super().__init__(details)
        self.retry_after_s = retry_after_s


def retry_headers(retry_after_s: float) -> dict[str, str]:
    """HTTP headers that tell a throttled client when to retry (seconds and milliseconds)."""
    return {
        "Retry-After": str(max(1, math.ceil(retry_after_s))),
        "retry-after-ms": str(max(1, math.ceil(retry_after_s * 1000))),
    }


class NotFound(ClarionError):
    """A named resource does not exist, or is not visible to the caller."""


class ResourceNotFound(NotFound):
    code = StatusCode.CONN_DOES_NOT_EXIST
    description = "Resource does not exist"


class ModelNotFound(NotFound):
    code = StatusCode.MODEL_DOES_NOT_EXIST
    description = "Model does not exist"


class InvalidRequest(ClarionError):
    """The request itself is malformed."""

    code = StatusCode.CONN_INVALID_REQUEST
    description = "Invalid request"


class InvalidParameter(InvalidRequest):
    """A parameter value is outside what the model accepts."""

    code = StatusCode.MODEL_INVALID_ARGUMENT
    description = "Invalid model argument"

    def __init__(self, details: str, *, parameter: str = "", value: Any = None) -> None:
        super().__init__(details)
        self.parameter = parameter
        self.value = value


class InvalidPredictRequest(InvalidRequest):
    code = StatusCode.PREDICT_INVALID_REQUEST
    description = "Invalid predict request"


class InputError(ClarionError):
    """One input could not be used; reported in that input's own output status."""


class InputDownloadFailed(InputError):
    code = StatusCode.INPUT_DOWNLOAD_FAILED
    description = "Input download failed"


class InputUnsupported(InputError):
    code = StatusCode.INPUT_UNSUPPORTED_FORMAT
    description = "Input format not supported"


class InputInvalid(InputError):
    code = StatusCode.INPUT_INVALID_ARGUMENT
    description = "Invalid input"


class InputOverLimit(InputError):
    code = StatusCode.INPUT_OVER_LIMIT
    description = "Input over limit"


class ModelUnavailable(ClarionError):
    """The model exists but cannot take this request now; clients may retry."""


class ModelBusy(ModelUnavailable):
    code = StatusCode.MODEL_BUSY_PLEASE_RETRY
    description = "Model is busy, please retry"


class ModelLoading(ModelUnavailable):
    code = StatusCode.MODEL_LOADING
    description = "Model is loading"


class PredictionFailed(ClarionError):
    code = StatusCode.MODEL_PREDICTION_FAILED
    description = "Model prediction failed"


class ModelNotReady(ClarionError):
    """A version that is queued, training or failed to train cannot predict; the code is
    its training status (21103, 21101, 21106, 21110, 21111)."""

    code = StatusCode.MODEL_TRAINING
    description = "Model version is not trained"

    def __init__(self, details: str = "", *, code: StatusCode = StatusCode.MODEL_TRAINING) -> None:
        super().__init__(details)
        self.code = code


class NotImplementedFeature(ClarionError):
    code = StatusCode.NOT_IMPLEMENTED
    description = "Not implemented"


class InternalError(ClarionError):
    code = StatusCode.INTERNAL_SERVER_ISSUE
    description = "Internal server issue"


class TrainingRefused(ClarionError):
    """A training cannot start on these inputs (21110 no data, 21111 a concept without
    positive examples); nothing is created. ``description`` says why."""

    code = StatusCode.MODEL_TRAINING_NO_DATA
    description = "Model training refused"

    def __init__(
        self, reason: str, *, code: StatusCode = StatusCode.MODEL_TRAINING_NO_DATA
    ) -> None:
        super().__init__(reason, description=reason)
        self.code = code
