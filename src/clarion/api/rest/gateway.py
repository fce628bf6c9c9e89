"""The REST gateway: Clarifai's JSON API on its own port, dispatching to the same handlers.

Routes come from clarifai-grpc's ``google.api.http`` annotations (see :mod:`.routes`). Bodies
and responses are protobuf JSON (snake_case field names, enums by name, bytes as base64;
embedding vectors encoded in bulk by :mod:`.proto_json`, to the same values);
the ``status`` object in the body carries the outcome and the HTTP status mirrors it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import asdict
from typing import Any

from google.protobuf.message import Message
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute
from starlette.routing import Route as StarletteRoute

from clarion.api.clarifai import convert
from clarion.api.clarifai.handlers import ClarifaiHandlers
from clarion.api.json_body import read_json
from clarion.api.json_response import FastJSONResponse, json_line
from clarion.api.rest.auth import KeyedRoutes, RequireKey, caller
from clarion.api.rest.proto_json import message_dict
from clarion.api.rest.routes import Route, build_request, build_routes
from clarion.auth import Principal
from clarion.domain.placement import Reconciling, ServedVersion
from clarion.errors import (
    ClarionError,
    InvalidRequest,
    StatusCode,
    Throttled,
    response_http_status,
    retry_headers,
)
from clarion.limits import Admission

_ALL_VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def _with_concept_values(node: Any) -> Any:
    """Write ``value`` on every concept, even 0.0: clients read a missing value as 1.0."""
    if isinstance(node, dict):
        for key, child in node.items():
            if key == "concepts" and isinstance(child, list):
                for concept in child:
                    if isinstance(concept, dict):
                        concept.setdefault("value", 0.0)
            _with_concept_values(child)
    elif isinstance(node, list) and node and isinstance(node[0], (dict, list)):
        for child in node:  # a list of numbers (a vector) holds no concepts: not walked
            _with_concept_values(child)
    return node


def message_response(message: Message, http: int | None = None) -> JSONResponse:
    """A response message as JSON; the HTTP status mirrors its Clarifai status code."""
    body = message_dict(message)
    if http is None:
        code = getattr(getattr(message, "status", None), "code", StatusCode.SUCCESS)
        outputs = getattr(message, "outputs", ())
        http = response_http_status(code, (o.status.code for o in outputs))
    headers = _retry_headers(message)
    return FastJSONResponse(_with_concept_values(body), status_code=http, headers=headers)


def _retry_headers(message: Message) -> dict[str, str] | None:
    status = getattr(message, "status", None)
    if status is None or status.code != StatusCode.CONN_THROTTLED:
        return None
    return retry_headers(status.time_remaining)


def error_response(route: Route | None, error: ClarionError) -> JSONResponse:
    if route is not None:
        response = route.rpc.response_class(status=convert.error_status(error))
        return message_response(response, error.http_status)
    status = {"code": int(error.code), "description": error.description, "details": error.details}
    headers = retry_headers(error.retry_after_s) if isinstance(error, Throttled) else None
    return JSONResponse({"status": status}, status_code=error.http_status, headers=headers)


class RestGateway:
    """Matches a request to an RPC binding and calls the handler for the caller."""

    def __init__(self, handlers: ClarifaiHandlers, max_body_bytes: int) -> None:
        self._handlers = handlers
        self._max_body_bytes = max_body_bytes
        self.routes = build_routes()

    def keyed_routes(self) -> KeyedRoutes:
        """The catch-all route of the Clarifai API: a key is needed for every RPC binding."""
        return KeyedRoutes(
            (StarletteRoute("/{path:path}", self.handle, methods=_ALL_VERBS),),
            refuse=self._refuse,
            claims=lambda request: self.match(request.method, request.url.path) is not None,
        )

    def _refuse(self, request: Request, error: ClarionError) -> Response:
        """The matched RPC's response with the refusal as its status (only matched paths
        need a key)."""
        found = self.match(request.method, request.url.path)
        assert found is not None
        return error_response(found[0], error)

    def match(self, verb: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes.get(verb, []):
            values = route.match(path)
            if values is not None:
                return route, values
        return None

    async def handle(self, request: Request) -> Response:
        found = self.match(request.method, request.url.path)
        if found is None:
            return error_response(
                None, InvalidRequest(f"No API route for {request.method} {request.url.path}.")
            )
        route, path_values = found
        try:
            message = build_request(
                route,
                path_values,
                list(request.query_params.multi_items()),
                await read_json(request, self._max_body_bytes),
            )
            self._handlers.implementation(route.rpc.name)
        except ClarionError as exc:
            return error_response(route, exc)
        principal = caller(request)
        if route.rpc.server_streaming:
            return await self._stream(route.rpc.name, message, principal)
        return message_response(await self._handlers.call(route.rpc.name, message, principal))

    async def _stream(self, method: str, message: Message, principal: Principal) -> Response:
        """A server-streaming RPC as newline-delimited JSON, one ``{"result": ...}`` a line.

        A stream refused at once for the key's share (11005) is a plain 429 answer instead.
        """
        responses = self._handlers.stream(method, message, principal)
        first = await anext(responses, None)
        if first is not None and first.status.code == StatusCode.CONN_THROTTLED:
            await responses.aclose()
            return message_response(first)

        async def lines() -> AsyncIterator[bytes]:
            try:
                if first is not None:
                    yield _line(first)
                async for response in responses:
                    yield _line(response)
            finally:
                await responses.aclose()

        return StreamingResponse(lines(), media_type="application/x-ndjson")


def _line(response: Message) -> bytes:
    body = message_dict(response)
    return json_line({"result": _with_concept_values(body)})


async def healthz(_request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


def build_rest_app(
    gateway: RestGateway,
    readiness: Callable[[], dict[str, bool]],
    metrics: Callable[[], bytes],
    admission: Admission,
    served: Callable[[], Awaitable[Sequence[ServedVersion]]],
    open_routes: Sequence[BaseRoute] = (),
    keyed: Sequence[KeyedRoutes] = (),
    reconciling: Callable[[], Awaitable[Reconciling]] | None = None,
) -> Starlette:
    """The ASGI app of the REST port, its keys checked once by :class:`RequireKey`.

    ``/healthz``, ``/readyz`` and ``open_routes`` need no key; ``/metrics``, the ``keyed``
    routes (``/v1``) and every Clarifai route do. The Clarifai API answers every other path.
    ``/readyz`` with a key (``clarion status``) also lists each served model version's
    replicas and where they run (``served``), and which front end reconciles the Ray
    cluster (``reconciling``); a wrong key is refused as on any route.
    """

    async def readyz(request: Request) -> Response:
        checks = readiness()
        ready = all(checks.values())
        body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
        authorization = request.headers.get("authorization")
        if authorization is not None:
            try:
                admission.authenticate(authorization)
                body["models"] = [asdict(version) for version in await served()]
                if reconciling is not None:
                    body["reconciler"] = asdict(await reconciling())
            except ClarionError as exc:
                return error_response(None, exc)
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        return Response(metrics(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def unrouted(request: Request, _exc: Exception) -> Response:
        """Paths no route can match (e.g. with a newline in them) still get a status."""
        path = request.url.path
        return error_response(None, InvalidRequest(f"No API route for {request.method} {path!r}."))

    metrics_routes = KeyedRoutes(
        (StarletteRoute("/metrics", metrics_endpoint, methods=["GET"]),),
        refuse=lambda _request, error: error_response(None, error),
    )
    clarifai = gateway.keyed_routes()
    routes = [
        StarletteRoute("/healthz", healthz, methods=["GET"]),
        StarletteRoute("/readyz", readyz, methods=["GET"]),
        *metrics_routes.routes,
        *open_routes,
        *(route for group in keyed for route in group.routes),
        *clarifai.routes,  # last: it matches every path
    ]
    key_check = Middleware(
        RequireKey, routes=routes, admission=admission, keyed=[metrics_routes, *keyed, clarifai]
    )
    return Starlette(
        exception_handlers={404: unrouted, 405: unrouted},
        routes=routes,
        middleware=[key_check],
    )
