"""REST routes built from the descriptors' google.api.http annotations."""

from __future__ import annotations

import pytest
from clarifai_grpc.grpc.api import resources_pb2

from clarion.api.rest.routes import Route, _scalar, build_request, build_routes
from clarion.errors import InvalidRequest

ROUTES = build_routes()


def _match(verb: str, path: str) -> tuple[Route, dict[str, str]]:
    for route in ROUTES[verb]:
        values = route.match(path)
        if values is not None:
            return route, values
    raise AssertionError(f"no route for {verb} {path}")


def test_predict_routes_bind_user_app_model_and_version() -> None:
    route, values = _match("POST", "/v2/users/u/apps/a/models/m/versions/v1/outputs")
    assert route.rpc.name == "PostModelOutputs"
    assert values == {
        "user_app_id.user_id": "u",
        "user_app_id.app_id": "a",
        "model_id": "m",
        "version_id": "v1",
    }
    route, values = _match("POST", "/v2/models/m/outputs")
    assert route.rpc.name == "PostModelOutputs" and values == {"model_id": "m"}


def test_literal_segments_win() -> None:
    route, values = _match("GET", "/v2/models/types/text-embedder")
    assert route.rpc.name == "GetModelType" and values == {"model_type_id": "text-embedder"}
    route, _ = _match("GET", "/v2/users/u/apps/a/models/m/output_info")
    assert route.rpc.name == "GetModelOutputInfo"


def test_query_parameters_fill_dotted_and_typed_fields() -> None:
    route, values = _match("GET", "/v2/users/u/apps/a/models/m/versions")
    request = build_request(route, values, [("page", "2"), ("per_page", "5")], None)
    assert (request.page, request.per_page, request.model_id) == (2, 5, "m")
    assert request.user_app_id.user_id == "u"


def test_path_values_win_over_the_body() -> None:
    route, values = _match("POST", "/v2/users/u/apps/a/models/m/outputs")
    body = {"model_id": "other", "inputs": [{"data": {"text": {"raw": "hi"}}}]}
    request = build_request(route, values, [], body)
    assert request.model_id == "m" and request.inputs[0].data.text.raw == "hi"


@pytest.mark.parametrize(
    "query, body",
    [
        ([("nope", "1")], None),
        ([("page", "x")], None),
        ([], [1, 2]),
        ([], {"inputs": "not a list"}),
        ([], {"unknown_field": 1}),
    ],
)
def test_bad_requests_name_the_problem(query: list[tuple[str, str]], body: object) -> None:
    verb, path = (
        ("POST", "/v2/models/m/outputs")
        if body is not None
        else (
            "GET",
            "/v2/users/u/apps/a/models/m/versions",
        )
    )
    route, values = _match(verb, path)
    with pytest.raises(InvalidRequest):
        build_request(route, values, query, body)


@pytest.mark.parametrize("raw", ["nan", "NaN", "inf", "-Infinity", "1e999"])
def test_query_numbers_must_be_finite(raw: str) -> None:
    field = resources_pb2.Concept.DESCRIPTOR.fields_by_name["value"]
    with pytest.raises(InvalidRequest, match="finite"):
        _scalar(field, raw, "value")
