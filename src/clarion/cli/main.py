"""The ``clarion`` command."""

from __future__ import annotations

import click

from clarion.cli.datasets import concepts, datasets
from clarion.cli.keys import keys
from clarion.cli.models import models
from clarion.cli.predict import predict
from clarion.cli.serve import serve
from clarion.cli.status import status
from clarion.cli.workspace import apps, create_model, inputs, train, versions


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clarion")
def cli() -> None:
    """Clarion: a self-hosted inference server that speaks the Clarifai API."""


cli.add_command(serve)
cli.add_command(status)
cli.add_command(predict)
cli.add_command(models)
cli.add_command(keys)
cli.add_command(apps)
cli.add_command(inputs)
cli.add_command(datasets)
cli.add_command(concepts)
models.add_command(create_model)
models.add_command(train)
models.add_command(versions)


if __name__ == "__main__":
    cli()
