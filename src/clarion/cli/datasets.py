"""``clarion datasets`` and ``clarion concepts``: datasets, frozen versions and concepts."""

from __future__ import annotations

from pathlib import Path

import click

from clarion.cli.common import pat_option, root_cert_option
from clarion.cli.workspace import app_for, failure, server_option
from clarion.client import ClarionApiError


@click.group()
def datasets() -> None:
    """Create datasets of an app's inputs and freeze them into versions to train on."""


@datasets.command("create")
@click.argument("app_id")
@click.argument("dataset_id")
@click.option("--description", default="")
@server_option
@pat_option
@root_cert_option
def create_dataset(app_id: str, dataset_id: str, description: str, base_url: str | None,
                   pat: str | None, root_certificates_path: Path | None) -> None:  # fmt: skip
    """Create the dataset DATASET_ID in APP_ID (add inputs with `inputs upload --dataset`)."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            app.create_dataset(dataset_id, description)
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(f"created dataset {dataset_id}")


@datasets.command("list")
@click.argument("app_id")
@server_option
@pat_option
@root_cert_option
def list_datasets(app_id: str, base_url: str | None, pat: str | None,
                  root_certificates_path: Path | None) -> None:  # fmt: skip
    """List APP_ID's datasets with their input counts."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            for dataset in app.list_datasets():
                count = int(dataset.metadata["input_count"])
                click.echo(f"{dataset.id}\t{count} inputs\t{dataset.description}")
    except ClarionApiError as exc:
        raise failure(exc) from exc


@datasets.command("freeze")
@click.argument("app_id")
@click.argument("dataset_id")
@click.option("--description", default="")
@server_option
@pat_option
@root_cert_option
def freeze(app_id: str, dataset_id: str, description: str, base_url: str | None,
           pat: str | None, root_certificates_path: Path | None) -> None:  # fmt: skip
    """Freeze DATASET_ID's inputs and labels into a new version; prints its id."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            version = app.create_dataset_version(dataset_id, description)
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(f"{version.id}\t{version.metrics['/'].inputs_count.value} inputs")


@datasets.command("versions")
@click.argument("app_id")
@click.argument("dataset_id")
@server_option
@pat_option
@root_cert_option
def versions(app_id: str, dataset_id: str, base_url: str | None, pat: str | None,
             root_certificates_path: Path | None) -> None:  # fmt: skip
    """List DATASET_ID's frozen versions, newest first."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            for version in app.list_dataset_versions(dataset_id):
                inputs = version.metrics["/"].inputs_count.value
                created = version.created_at.ToDatetime().isoformat(timespec="seconds")
                click.echo(f"{version.id}\t{inputs} inputs\t{created}\t{version.description}")
    except ClarionApiError as exc:
        raise failure(exc) from exc


@click.group()
def concepts() -> None:
    """An app's concepts."""


@concepts.command("list")
@click.argument("app_id")
@server_option
@pat_option
@root_cert_option
def list_concepts(app_id: str, base_url: str | None, pat: str | None,
                  root_certificates_path: Path | None) -> None:  # fmt: skip
    """List APP_ID's concepts (id and name)."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            for concept in app.list_concepts():
                click.echo(f"{concept.id}\t{concept.name}")
    except ClarionApiError as exc:
        raise failure(exc) from exc
