"""``clarion status``: is a running server ready, which front end reconciles the Ray cluster,
and where does each served version run."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import click
import httpx

from clarion.cli.common import pat_option, root_cert_option, saved_pat, settings


@click.command()
@click.option(
    "--rest-url",
    default=None,
    help="The server's REST address (default: http://127.0.0.1:$CLARION_REST_PORT).",
)
@pat_option
@root_cert_option
def status(rest_url: str | None, pat: str | None, root_certificates_path: Path | None) -> None:
    """Show a running server's readiness checks, which front end reconciles the Ray cluster
    (deploys the model versions), and each model version it serves: its replicas, their
    state, and the node, address and process each one runs on.

    Exits with 1 when the server is not ready.
    """
    s = settings()
    url = (rest_url or f"http://127.0.0.1:{s.rest_port}").rstrip("/")
    verify: ssl.SSLContext | bool = True
    if root_certificates_path is not None:
        verify = ssl.create_default_context(cafile=str(root_certificates_path))
    headers = {"authorization": f"Key {pat or saved_pat(s)}"}
    try:
        answer = httpx.get(f"{url}/readyz", headers=headers, verify=verify, timeout=30)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"No answer from {url}/readyz: {exc}") from exc
    body: dict[str, Any] = answer.json()
    if "checks" not in body:  # refused: the key
        raise click.ClickException(f"{url}/readyz refused: {body.get('status', body)}")
    checks = ", ".join(f"{name} {'ok' if ok else 'NOT OK'}" for name, ok in body["checks"].items())
    click.echo(f"{body['status']}: {checks}")
    if "reconciler" in body:
        click.echo(f"reconciler: {body['reconciler']['detail']}")
    _echo_models(body.get("models", []))
    if answer.status_code != 200:
        raise SystemExit(1)


def _echo_models(models: list[dict[str, Any]]) -> None:
    if not models:
        click.echo("no model version is loaded")
        return
    click.echo(f"{'MODEL':<30} {'VERSION':<34} {'STATE':<10} {'NODE':<14} {'ADDRESS':<16} PID")
    for model in models:
        name = model["model_id"] or "-"
        if not model["replicas"]:
            click.echo(f"{name:<30} {model['version_id']:<34} no replica (scaled to zero)")
        for replica in model["replicas"]:
            node = replica["node_id"][:12] or "-"
            click.echo(
                f"{name:<30} {model['version_id']:<34} {replica['state']:<10} {node:<14} "
                f"{replica['node_address']:<16} {replica['pid']}"
            )
