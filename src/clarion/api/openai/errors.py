"""Errors in OpenAI's shape, from the same error tree and status table as the Clarifai API.

{"error": {"message": "...", "type": "invalid_request_error", "param": "top_p",
           "code": "model_invalid_argument"}}
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from starlette.responses import JSONResponse

from clarion.errors import ClarionError, InvalidParameter, Throttled, retry_headers

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def error_type(http_status: int) -> str:
    return _TYPES.get(
        http_status, "server_error" if http_status >= 500 else "invalid_request_error"
    )


def error_body(error: ClarionError) -> dict[str, Any]:
    param = error.parameter if isinstance(error, InvalidParameter) and error.parameter else None
    return {
        "error": {
            "message": error.details or error.description,
            "type": error_type(error.http_status),
            "param": param,
            "code": error.code.name.lower(),
        }
    }


def openai_error(error: ClarionError) -> JSONResponse:
    """The HTTP status and body an OpenAI client expects for ``error``."""
    headers = retry_headers(error.retry_after_s) if isinstance(error, Throttled) else None
    return JSONResponse(error_body(error), status_code=error.http_status, headers=headers)


def from_validation(exc: ValidationError) -> InvalidParameter:
    """The first pydantic complaint as an :class:`InvalidParameter` naming its field."""
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first.get("loc", ()) if not isinstance(part, int))
    message = first.get("msg", "invalid value")
    given = first.get("input")
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    return InvalidParameter(
        f"{location or 'body'}: {message} (got {shown[:200]}).", parameter=location
    )
