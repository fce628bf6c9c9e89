"""The REST port's one key check: an ASGI middleware in front of the router.

Each API on the port names the routes that need a key and the answer it gives a caller
without a good one: a Clarifai status on the Clarifai routes and ``/metrics``, an OpenAI
error on ``/v1``. For each request the middleware finds the route the router will serve it
from (the first full match, as Starlette's router picks it). When that route needs a key,
the ``Authorization`` header is checked once, by :meth:`Admission.authenticate` (the key,
then its rate); the API's refusal is sent, or the caller is handed to the route, which reads
it with :func:`caller`. Requests for every other route (``/healthz``, ``/readyz``, the
playground's files, paths no route matches) pass without a key.

    keyed = [KeyedRoutes((Route("/v1/models", models),), refuse=openai_refusal)]
    app = Starlette(routes=..., middleware=[Middleware(RequireKey, routes=..., admission=...,
                                                       keyed=keyed)])
    principal = caller(request)  # in the endpoint of a keyed route
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from clarion.auth import Principal
from clarion.errors import ClarionError
from clarion.limits import Admission

#: The answer to a request refused for its key: the API's own error shape for ``error``.
Refusal = Callable[[Request, ClarionError], Response]


def _every_request(_request: Request) -> bool:
    return True


@dataclass(frozen=True)
class KeyedRoutes:
    """Routes of one API that need a key, and that API's answer to a caller without one.

    ``claims`` narrows what the routes need a key for: the Clarifai gateway's catch-all also
    answers paths that name no RPC ("no API route", with or without a key).
    """

    routes: tuple[BaseRoute, ...]
    refuse: Refusal
    claims: Callable[[Request], bool] = _every_request


class RequireKey:
    """ASGI middleware: authenticates every request that a keyed route will serve.

    ``routes`` are the app's routes in the router's order; ``keyed`` says which of them
    need a key.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        routes: Sequence[BaseRoute],
        admission: Admission,
        keyed: Sequence[KeyedRoutes],
    ) -> None:
        self._app = app
        self._routes = tuple(routes)
        self._admission = admission
        self._keyed = {id(route): group for group in keyed for route in group.routes}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        group = self._keyed_group(scope) if scope["type"] == "http" else None
        if group is not None:
            request = Request(scope)
            if group.claims(request):
                try:
                    principal = self._admission.authenticate(request.headers.get("authorization"))
                except ClarionError as exc:
                    await group.refuse(request, exc)(scope, receive, send)
                    return
                request.state.principal = principal
        await self._app(scope, receive, send)

    def _keyed_group(self, scope: Scope) -> KeyedRoutes | None:
        """The keyed routes that will serve this request, if the route it goes to is one."""
        for route in self._routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return self._keyed.get(id(route))
        return None


def caller(request: Request) -> Principal:
    """The caller :class:`RequireKey` authenticated for this request."""
    principal = getattr(request.state, "principal", None)
    if not isinstance(principal, Principal):
        raise RuntimeError(f"{request.url.path} is not behind RequireKey; no caller is known.")
    return principal
