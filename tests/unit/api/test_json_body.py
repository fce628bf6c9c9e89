"""The one JSON body reader: every malformed body is refused with a message naming why."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from clarion.api.json_body import (
    MAX_DEPTH,
    parse_json,
    read_body,
    read_json,
    read_json_object,
)
from clarion.errors import InvalidRequest, StatusCode, response_http_status


@pytest.mark.parametrize(
    "raw, fragment",
    [
        (b'{"params": {"temperature": NaN}}', "'NaN' at character 27"),
        (b"[1, Infinity]", "'Infinity'"),
        (b"[-Infinity]", "'-Infinity'"),
        (b"[1e999]", "too large"),
        (b"[1e30]", "at most"),
        (b"[123456789012345678901234567890]", "at most"),
        (b'{"a": "\xff"}', "not valid UTF-8: byte 7 (0xff)"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"the limit is {MAX_DEPTH}"),
        (b"[" * 5000 + b"]" * 5000, "levels deep"),
        (b'{"a": 1', "unexpected end of data"),
        (b"[1, 2,]", "trailing comma"),
        (b"{'a': 1}", "not valid JSON"),
    ],
)
def test_malformed_bodies_are_refused_by_name(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json(raw)
    assert caught.value.code == StatusCode.CONN_INVALID_REQUEST
    assert caught.value.http_status == 400
    assert fragment in caught.value.details


def test_good_bodies_parse() -> None:
    assert parse_json(b"") is None and parse_json(b"  \n") is None
    nested = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert parse_json(nested) is not None
    assert parse_json('{"t": "caf\u00e9 [[[", "n": -2.5e3}'.encode()) == {
        "t": "caf\u00e9 [[[",
        "n": -2500.0,
    }
    assert parse_json(b'{"seed": 4294967295}') == {"seed": 4294967295}


def test_depth_counts_objects_and_arrays_not_brackets_inside_strings() -> None:
    brackets = "[" * (2 * MAX_DEPTH) + '{{\\"'
    assert parse_json(f'{{"a": "{brackets}"}}'.encode()) == {"a": brackets.replace('\\"', '"')}
    at_limit = b'{"a": ' * (MAX_DEPTH - 1) + b'["[[[["]' + b"}" * (MAX_DEPTH - 1)
    assert parse_json(at_limit) is not None
    with pytest.raises(InvalidRequest) as caught:
        parse_json(b'{"a": ' * MAX_DEPTH + b"[1]" + b"}" * MAX_DEPTH)
    assert f"{MAX_DEPTH + 1} or more levels deep" in caught.value.details


def test_errors_name_characters_not_bytes() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_json('{"t": "caf\u00e9\u00e9", "n": NaN}'.encode())
    assert "'NaN' at character 20" in caught.value.details


@pytest.mark.parametrize(
    "code, outputs, http",
    [
        (10000, [], 200),
        (10010, [10000, 30101], 200),
        (10020, [30101, 30101], 400),
        (10020, [30002, 30104, 30105], 400),
        (10020, [21354], 429),
        (10020, [30101, 98004], 500),
        (10020, [21313], 500),
        (10020, [], 500),
        (11102, [], 400),
        (21200, [], 404),
        (12345, [], 200),
    ],
)
def test_http_status_of_a_response(code: int, outputs: list[int], http: int) -> None:
    assert response_http_status(code, outputs) == http


def _request(chunks: list[bytes], content_length: int | None = None) -> tuple[Request, list[int]]:
    """A POST whose body arrives in ``chunks``; the list counts the chunks read."""
    headers = [] if content_length is None else [(b"content-length", str(content_length).encode())]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": headers}
    read: list[int] = []

    async def receive() -> Message:
        index = len(read)
        read.append(index)
        more = index + 1 < len(chunks)
        return {"type": "http.request", "body": chunks[index] if chunks else b"", "more_body": more}

    return Request(scope, receive), read


def _refusal(reader: Any, request: Request, *args: Any) -> str:
    with pytest.raises(InvalidRequest) as caught:
        asyncio.run(reader(request, *args))
    assert caught.value.code == StatusCode.CONN_INVALID_REQUEST
    return caught.value.details


def test_a_declared_size_over_the_limit_is_refused_before_reading() -> None:
    request, read = _request([b"x" * 11], content_length=11)
    assert (
        _refusal(read_body, request, 10) == "The request body is 11 bytes; the limit is 10 bytes."
    )
    assert read == []


def test_a_streamed_body_is_refused_once_it_passes_the_limit() -> None:
    request, read = _request([b"x" * 6, b"x" * 6, b"x" * 6])
    assert _refusal(read_body, request, 10) == "The request body is over the limit of 10 bytes."
    assert len(read) == 2


def test_a_body_at_the_limit_is_read_whole() -> None:
    request, _ = _request([b'{"a":', b" [1, 2]}"], content_length=13)
    assert asyncio.run(read_json(request, 13)) == {"a": [1, 2]}


def test_an_empty_body_is_none_but_not_an_object() -> None:
    assert asyncio.run(read_json(_request([])[0], 10)) is None
    got = _refusal(read_json_object, _request([])[0], 10)
    assert got == "The request body must be a JSON object, got an empty body."
    got = _refusal(read_json_object, _request([b"[1]"])[0], 10)
    assert got == "The request body must be a JSON object, got a JSON array."
