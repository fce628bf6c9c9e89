"""The one JSON body reader of every REST route (the Clarifai gateway and ``/v1``).

A body is read in chunks up to a byte limit, then checked in this order, each failure an
:class:`InvalidRequest` (11102, HTTP 400) that names the problem:

1. size: over ``max_bytes`` (``CLARION_MAX_RECEIVE_MB``), by ``Content-Length`` or as read;
2. encoding: valid UTF-8 (the byte offset of the first bad byte is named);
3. syntax: strict JSON (orjson, which refuses anything nested deeper than 1024 levels);
   ``NaN``, ``Infinity`` and numbers that overflow a double are refused by name;
4. nesting: at most :data:`MAX_DEPTH` levels of arrays and objects;
5. numbers: finite and at most :data:`MAX_NUMBER` in magnitude.

The checks after parsing walk the parsed value once, so a large body of long strings (base64
images) costs a parse and no more.

    data = await read_json(request, max_bytes)        # None for an empty body
    obj = await read_json_object(request, max_bytes)  # the body must be an object
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from clarion.errors import InvalidRequest

#: The deepest nesting of arrays and objects a body may have.
MAX_DEPTH = 64
#: The largest magnitude a number may have (2**63: beyond any integer field).
MAX_NUMBER = float(2**63)

#: orjson refuses a value nested deeper than this.
_ORJSON_DEPTH_LIMIT = 1024
_NON_FINITE = re.compile(r"-?(?:NaN|Infinity|inf|nan)\b")


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refused as soon as it is known to be over ``max_bytes``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise InvalidRequest(
            f"The request body is {int(declared)} bytes; the limit is {max_bytes} bytes."
        )
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > max_bytes:
            raise InvalidRequest(f"The request body is over the limit of {max_bytes} bytes.")
    return bytes(raw)


def parse_json(raw: bytes) -> Any:
    """``raw`` as a JSON value, or an :class:`InvalidRequest` saying what is wrong with it."""
    if not raw.strip():
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest(_refusal(raw)) from None
    _check_tree(value)
    return value


def _refusal(raw: bytes) -> str:
    """Why orjson refused ``raw``, positions counted in characters."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as bad:
        return (
            f"The request body is not valid UTF-8: byte {bad.start} (0x{raw[bad.start]:02x}) "
            "cannot start or continue a character."
        )
    try:
        orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        if exc.msg.startswith("depth limit exceeded"):  # orjson stops past 1024 levels
            return _too_deep(_ORJSON_DEPTH_LIMIT + 1)
        return _syntax_message(text, exc)
    return "The request body is not valid JSON."  # not reached: the bytes were refused


def _too_deep(depth: int) -> str:
    return (
        f"The request body nests arrays and objects {depth} or more levels deep; "
        f"the limit is {MAX_DEPTH}."
    )


def _children(node: dict[str, Any] | list[Any]) -> Any:
    return node.values() if isinstance(node, dict) else node


def _check_tree(root: Any) -> None:
    """At most :data:`MAX_DEPTH` levels of nesting and every number finite and at most
    :data:`MAX_NUMBER`, in one walk of the parsed value."""
    if not isinstance(root, dict | list):
        _check_number(root)
        return
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidRequest(_too_deep(depth))
        for child in _children(node):
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            else:
                _check_number(child)


def _check_number(node: Any) -> None:
    if isinstance(node, int | float) and not abs(node) <= MAX_NUMBER:
        raise InvalidRequest(
            f"The request body holds the number {node:.6g}; numbers must be finite "
            f"and at most {MAX_NUMBER:.4g} in magnitude."
        )


async def read_json(request: Request, max_bytes: int) -> Any:
    """The body as a JSON value (None when empty), checked as the module docstring says."""
    return parse_json(await read_body(request, max_bytes))


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    """The body as a JSON object; anything else (an empty body too) is refused."""
    value = await read_json(request, max_bytes)
    if not isinstance(value, dict):
        got = "an empty body" if value is None else f"a JSON {_json_type(value)}"
        raise InvalidRequest(f"The request body must be a JSON object, got {got}.")
    return value


def _syntax_message(text: str, exc: orjson.JSONDecodeError) -> str:
    position = exc.pos
    start = max(0, position - 1)
    token = _NON_FINITE.match(text, start) or _NON_FINITE.match(text, position)
    if token is not None:
        return (
            f"The request body is not valid JSON: {token.group(0)!r} at character "
            f"{token.start()} is not a JSON number (numbers must be finite)."
        )
    if "infinity when parsed" in str(exc):
        return (
            f"The request body is not valid JSON: the number at character {position} is too "
            f"large (numbers must be at most {MAX_NUMBER:.4g} in magnitude)."
        )
    return f"The request body is not valid JSON: {exc.msg} at character {position}."


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "null"
