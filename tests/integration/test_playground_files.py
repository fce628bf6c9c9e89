"""The playground's files: served without a key, with a strict policy, nothing remote."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest

from clarion.api.rest.playground import ASSETS, CONTENT_SECURITY_POLICY, load_assets
from clarion.server_thread import ServerThread

pytestmark = pytest.mark.slow


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_text += data


@pytest.mark.parametrize("path", ["/", "/playground", "/playground/"])
def test_the_page_is_served_without_a_key_with_a_strict_policy(
    server: ServerThread, path: str
) -> None:
    response = httpx.get(server.rest_url + path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = response.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "Clarion playground" in response.text


def test_every_asset_is_served_with_its_type(server: ServerThread) -> None:
    types = {
        ".js": "text/javascript",
        ".css": "text/css",
        ".html": "text/html",
        ".svg": "image/svg",
    }
    for name in ASSETS:
        response = httpx.get(f"{server.rest_url}/playground/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(types[name[name.rfind(".") :]])
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_page_has_no_inline_code_and_loads_nothing_remote() -> None:
    assets = load_assets()
    parser = _Tags()
    parser.feed(assets["index.html"].body.decode())
    assert parser.script_text.strip() == ""
    for tag, attrs in parser.tags:
        assert "style" not in attrs, tag
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for name in ("src", "href"):
            value = attrs.get(name) or ""
            assert not re.match(r"(https?:)?//", value), (tag, value)
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/playground/js/")
    css = assets["playground.css"].body.decode()
    assert "@import" not in css and "url(" not in css and "@font-face" not in css
    for name, asset in assets.items():
        text = asset.body.decode()
        assert "innerHTML" not in text and "eval(" not in text, name
        assert not re.search(r"""(import|fetch)\s*\(?\s*["'`]https?://""", text), name


def test_unknown_files_and_other_verbs_are_refused(server: ServerThread) -> None:
    for path in ("/playground/nope.js", "/playground/%2e%2e/pyproject.toml", "/playground/js/"):
        assert httpx.get(server.rest_url + path).status_code == 404, path
    refused = httpx.post(server.rest_url + "/playground")
    assert refused.status_code == 400 and "No API route" in refused.json()["status"]["details"]


def test_the_config_names_the_grpc_port_and_the_api_still_needs_a_key(
    server: ServerThread,
) -> None:
    config = httpx.get(f"{server.rest_url}/playground/config.json").json()
    assert config == {"grpc_port": server.grpc_port, "tls": False}
    response = httpx.get(f"{server.rest_url}/v2/users/clarion/apps/main/models")
    assert response.status_code == 401
