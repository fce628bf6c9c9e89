"""``clarion apps`` and ``clarion inputs``, and the custom-model commands of ``clarion models``.

They talk to a server (``--base-url``, default ``$CLARION_API_BASE`` or the local default
port) with your key (``--pat``, ``$CLARION_PAT`` or the key saved by ``serve``).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import click
from clarifai_grpc.grpc.api import service_pb2
from google.protobuf import json_format

from clarion.cli.common import pat_option, root_cert_option, saved_pat, settings
from clarion.client import App, ClarionApiError

server_option = click.option(
    "--base-url", default=None, help="The server's gRPC address (default: $CLARION_API_BASE)."
)


def app_for(app_id: str, base_url: str | None, pat: str | None, root: Path | None) -> App:
    return App(
        app_id, pat=pat or saved_pat(settings()), base_url=base_url, root_certificates_path=root
    )


def failure(exc: ClarionApiError) -> click.ClickException:
    return click.ClickException(str(exc))


@click.group()
def apps() -> None:
    """Create, list and delete your apps."""


@apps.command("create")
@click.argument("app_id")
@click.option("--description", default="")
@server_option
@pat_option
@root_cert_option
def create_app(app_id: str, description: str, base_url: str | None, pat: str | None,
               root_certificates_path: Path | None) -> None:  # fmt: skip
    """Create the app APP_ID for your key's user."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            app.create(description)
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(f"created app {app_id}")


@apps.command("list")
@server_option
@pat_option
@root_cert_option
def list_apps(base_url: str | None, pat: str | None, root_certificates_path: Path | None) -> None:
    """List your apps."""
    with app_for("", base_url, pat, root_certificates_path) as app:
        try:
            response = app._call("ListApps", service_pb2.ListAppsRequest(per_page=1000))
        except ClarionApiError as exc:
            raise failure(exc) from exc
    for item in response.apps:
        click.echo(f"{item.user_id}/{item.id}\t{item.description}")


@apps.command("delete")
@click.argument("app_id")
@server_option
@pat_option
@root_cert_option
def delete_app(app_id: str, base_url: str | None, pat: str | None,
               root_certificates_path: Path | None) -> None:  # fmt: skip
    """Delete the app APP_ID with its inputs, models and versions."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            app.delete()
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(f"deleted app {app_id}")


@click.group()
def inputs() -> None:
    """Upload and list labelled inputs."""


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if rows and not ({"text", "image"} & set(rows[0])):
        raise click.UsageError("The CSV needs a 'text' or an 'image' column.")
    return rows


@inputs.command("upload")
@click.argument("app_id")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset", "dataset_id", default="", help="Also add the inputs to this dataset.")
@server_option
@pat_option
@root_cert_option
def upload(app_id: str, csv_file: Path, dataset_id: str, base_url: str | None, pat: str | None,
           root_certificates_path: Path | None) -> None:  # fmt: skip
    """Upload the labelled inputs listed in CSV_FILE into APP_ID.

    Columns: ``text`` (or ``image``, a file path relative to the CSV), ``positive`` and
    ``negative`` (concept ids separated by ``;``), and optionally ``id``.
    """
    items = []
    for row in _rows(csv_file):
        positive = [c for c in row.get("positive", "").split(";") if c]
        negative = [c for c in row.get("negative", "").split(";") if c]
        if row.get("image"):
            data = (csv_file.parent / row["image"]).read_bytes()
            items.append(App.image_input(data, positive, negative, row.get("id", "")))
        else:
            items.append(App.text_input(row.get("text", ""), positive, negative, row.get("id", "")))
    if dataset_id:
        for item in items:
            item.dataset_ids.append(dataset_id)
    try:
        with (
            app_for(app_id, base_url, pat, root_certificates_path) as app,
            click.progressbar(length=len(items), label="uploading") as bar,
        ):
            app.add_inputs(items, progress=bar.update)
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(f"uploaded {len(items)} inputs to {app_id}")


@inputs.command("list")
@click.argument("app_id")
@server_option
@pat_option
@root_cert_option
def list_inputs(app_id: str, base_url: str | None, pat: str | None,
                root_certificates_path: Path | None) -> None:  # fmt: skip
    """List APP_ID's inputs with their labels."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            for item in app.list_inputs():
                labels = " ".join(f"{c.id}={c.value:g}" for c in item.data.concepts)
                click.echo(f"{item.id}\t{labels}\t{item.data.text.raw[:60]}")
    except ClarionApiError as exc:
        raise failure(exc) from exc


@click.command("create")
@click.argument("app_id")
@click.argument("model_id")
@click.option("--concept", "concepts", multiple=True, required=True, help="A concept to learn.")
@server_option
@pat_option
@root_cert_option
def create_model(app_id: str, model_id: str, concepts: tuple[str, ...], base_url: str | None,
                 pat: str | None, root_certificates_path: Path | None) -> None:  # fmt: skip
    """Create the custom concept model MODEL_ID in APP_ID."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            app.create_model(model_id, list(concepts))
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(f"created model {model_id} learning {', '.join(concepts)}")


def _describe(version: Any) -> str:
    metadata = json_format.MessageToDict(version.metadata).get("training", {})
    metrics = metadata.get("metrics", {})
    line = f"{version.id}  {version.status.code} {version.status.description}"
    if metrics:
        per = ", ".join(
            f"{c}: P={m['precision']:.2f} R={m['recall']:.2f}"
            for c, m in metrics.get("per_concept", {}).items()
        )
        count = len(metadata.get("inputs", []))
        line += f"\n    inputs={count} accuracy={metrics['accuracy']:.2f} {per}"
        line += f"\n    base={metadata.get('base_model')}@{metadata.get('base_version_id')}"
    return line


def _param(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise click.BadParameter(f"expected NAME=VALUE, got {text!r}", param_hint="--param")
    for kind in (int, float):
        try:
            return name, kind(value)
        except ValueError:
            pass
    return name, value


@click.command("train")
@click.argument("app_id")
@click.argument("model_id")
@click.option("--no-wait", is_flag=True, help="Return once the training is queued.")
@click.option("--exclusive", is_flag=True, help="Mutually exclusive concepts: one softmax.")
@click.option("--dataset", "dataset_id", default="", help="Train on this dataset's inputs.")
@click.option("--dataset-version", "dataset_version_id", default="",
              help="Train on this frozen dataset version.")  # fmt: skip
@click.option("--param", "params", multiple=True, help="A train param, NAME=VALUE (e.g. C=5).")
@server_option
@pat_option
@root_cert_option
def train(app_id: str, model_id: str, no_wait: bool, exclusive: bool, dataset_id: str,
          dataset_version_id: str, params: tuple[str, ...], base_url: str | None,
          pat: str | None, root_certificates_path: Path | None) -> None:  # fmt: skip
    """Train MODEL_ID on APP_ID's labelled inputs (or a dataset's): a new version."""
    values = dict(_param(p) for p in params)
    if dataset_id:
        values["dataset_id"] = dataset_id
    if dataset_version_id:
        values["dataset_version_id"] = dataset_version_id
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            version = app.train(model_id, wait=not no_wait, exclusive=exclusive, **values)
    except ClarionApiError as exc:
        raise failure(exc) from exc
    click.echo(_describe(version))


@click.command("versions")
@click.argument("app_id")
@click.argument("model_id")
@server_option
@pat_option
@root_cert_option
def versions(app_id: str, model_id: str, base_url: str | None, pat: str | None,
             root_certificates_path: Path | None) -> None:  # fmt: skip
    """List MODEL_ID's versions, newest first, with their status and metrics."""
    try:
        with app_for(app_id, base_url, pat, root_certificates_path) as app:
            for version in app.list_versions(model_id):
                click.echo(_describe(app.version(model_id, version.id)))
    except ClarionApiError as exc:
        raise failure(exc) from exc
