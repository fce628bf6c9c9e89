"""The web playground: static files shipped in the package, served at ``/`` and ``/playground``.

The page needs no key (it holds no data); every API call it makes sends the key the user
types, kept in the tab's session storage. Only the files listed in :data:`ASSETS` are served,
each with a strict Content-Security-Policy: scripts and styles from this origin only, no
inline code, no remote fonts, images, frames or connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cache-Control": "no-cache",
}

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}

#: Every file the playground serves, relative to ``clarion/playground``.
ASSETS = (
    "index.html",
    "playground.css",
    "favicon.svg",
    "js/main.js",
    "js/api.js",
    "js/dom.js",
    "js/options.js",
    "js/inputs.js",
    "js/outputs.js",
    "js/snippets.js",
    "js/custom.js",
)


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


def load_assets() -> dict[str, Asset]:
    """The playground's files from the installed package, by their path under ``/playground/``."""
    root = resources.files("clarion") / "playground"
    assets: dict[str, Asset] = {}
    for name in ASSETS:
        suffix = name[name.rfind(".") :]
        assets[name] = Asset((root / name).read_bytes(), _TYPES[suffix])
    return assets


class Playground:
    """The playground's routes. ``grpc_port`` and ``tls`` tell the page what to put in the
    code snippets; the REST base is the page's own origin."""

    def __init__(self, grpc_port: int, tls: bool) -> None:
        self._assets = load_assets()
        self._config = {"grpc_port": grpc_port, "tls": tls}

    def _asset(self, name: str) -> Response:
        asset = self._assets.get(name)
        if asset is None:
            return Response("Not found.\n", status_code=404, headers=SECURITY_HEADERS)
        return Response(asset.body, media_type=asset.media_type, headers=SECURITY_HEADERS)

    async def index(self, _request: Request) -> Response:
        return self._asset("index.html")

    async def file(self, request: Request) -> Response:
        return self._asset(str(request.path_params["name"]))

    async def config(self, _request: Request) -> Response:
        return JSONResponse(self._config, headers=SECURITY_HEADERS)

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/playground", self.index, methods=["GET"]),
            Route("/playground/", self.index, methods=["GET"]),
            Route("/playground/config.json", self.config, methods=["GET"]),
            Route("/playground/{name:path}", self.file, methods=["GET"]),
        ]
