"""RequireKey: the REST port's one key check, in front of the router."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.testclient import TestClient

from clarion.api.rest.auth import KeyedRoutes, RequireKey, caller
from clarion.auth import KeyManager
from clarion.config import Settings
from clarion.errors import ClarionError
from clarion.limits import Admission, KeyLimits
from clarion.registry import Registry


async def whoami(request: Request) -> Response:
    return PlainTextResponse(caller(request).user_id)


async def open_page(_request: Request) -> Response:
    return PlainTextResponse("open")


def _refusal(api: str) -> KeyedRoutes:
    """A keyed ``/<api>/me`` route whose refusal names the API, code and status."""

    def refuse(request: Request, error: ClarionError) -> Response:
        body = {"api": api, "code": int(error.code), "path": request.url.path}
        return JSONResponse(body, status_code=error.http_status)

    return KeyedRoutes((Route(f"/{api}/me", whoami, methods=["GET"]),), refuse=refuse)


@pytest.fixture
def keys(settings: Settings) -> Iterator[KeyManager]:
    registry = Registry.open(settings.resolved_database_url)
    yield KeyManager(registry)
    registry.close()


async def gateway_like(request: Request) -> Response:
    """A catch-all that answers paths it knows for the caller, and others without one."""
    if request.url.path.startswith("/keyed/"):
        return await whoami(request)
    return PlainTextResponse("no such route", status_code=400)


def _app(keys: KeyManager, limits: KeyLimits | None = None) -> TestClient:
    """Keyed ``/one/me`` and ``/two/me``, keyed ``/keyed/...`` paths of a catch-all, and
    open routes before and after them in the router's order."""
    one, two = _refusal("one"), _refusal("two")
    catch_all = KeyedRoutes(
        (Route("/{path:path}", gateway_like, methods=["GET"]),),
        refuse=two.refuse,
        claims=lambda request: request.url.path.startswith("/keyed/"),
    )
    routes: list[BaseRoute] = [
        Route("/healthz", open_page, methods=["GET"]),
        Route("/one/{name}", open_page, methods=["GET"]),  # picked first: /one/me is open
        *one.routes,
        *two.routes,
        Route("/two/{name}", open_page, methods=["GET"]),  # picked after /two/me
        *catch_all.routes,
    ]
    check = Middleware(
        RequireKey,
        routes=routes,
        admission=Admission(keys, limits or KeyLimits()),
        keyed=[one, two, catch_all],
    )
    return TestClient(Starlette(routes=routes, middleware=[check]))


def test_a_good_key_reaches_the_route_as_its_caller(keys: KeyManager) -> None:
    pat = keys.create("alice")
    client = _app(keys)
    for path in ("/two/me", "/keyed/anything"):
        response = client.get(path, headers={"Authorization": f"Key {pat}"})
        assert (response.status_code, response.text) == (200, "alice"), path
    assert client.get("/two/me", headers={"Authorization": f"Bearer {pat}"}).text == "alice"


@pytest.mark.parametrize(
    "headers, code",
    [
        ({}, 11102),
        ({"Authorization": "Basic abc"}, 11102),
        ({"Authorization": "Key " + "0" * 32}, 11009),
    ],
)
def test_refusals_come_in_the_shape_of_the_routes_api(
    keys: KeyManager, headers: dict[str, str], code: int
) -> None:
    client = _app(keys)
    for path in ("/two/me", "/keyed/x"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"api": "two", "code": code, "path": path}


def test_a_revoked_key_is_refused(keys: KeyManager) -> None:
    pat = keys.create("alice")
    keys.revoke(pat[:8])
    response = _app(keys).get("/two/me", headers={"Authorization": f"Key {pat}"})
    assert response.status_code == 401 and response.json()["code"] == 11008


def test_the_key_is_charged_to_its_rate_once_per_request(keys: KeyManager) -> None:
    pat = keys.create("alice")
    client = _app(keys, KeyLimits(rate_per_s=0.001, burst=2))
    headers = {"Authorization": f"Key {pat}"}
    codes = [client.get(path, headers=headers).status_code for path in ("/two/me",) * 2]
    assert codes == [200, 200]
    refused = client.get("/keyed/x", headers=headers)
    assert refused.status_code == 429 and refused.json()["code"] == 11005


def test_routes_of_no_api_stay_open(keys: KeyManager) -> None:
    client = _app(keys)
    assert client.get("/healthz").text == "open"
    assert client.get("/one/me").text == "open"  # the router picks the open /one/{name}
    assert client.get("/two/other").text == "open"
    unclaimed = client.get("/somewhere/else")  # the catch-all, for a path it does not claim
    assert (unclaimed.status_code, unclaimed.text) == (400, "no such route")


def test_a_request_no_route_serves_needs_no_key(keys: KeyManager) -> None:
    client = _app(keys)
    assert client.post("/two/me").status_code == 405
    assert client.delete("/keyed/x").status_code == 405


def test_caller_is_known_only_behind_the_middleware() -> None:
    client = TestClient(Starlette(routes=[Route("/me", whoami)]))
    with pytest.raises(RuntimeError, match="not behind RequireKey"):
        client.get("/me")
