"""The one JSON body reader: every malformed body is refused with a message naming why."""

from __future__ import annotations

import pytest

from clarion.api.json_body import MAX_DEPTH, nesting_depth, parse_json
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


def test_depth_ignores_brackets_inside_strings() -> None:
    assert nesting_depth(b'{"a": "[[[[{{{{\\"[[["}') == 1
    assert nesting_depth(b"[[], [[]], {}]") == 3
    assert nesting_depth(b"42") == 0


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
