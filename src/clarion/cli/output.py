"""Printing responses for people (or as JSON with --json)."""

from __future__ import annotations

from typing import Any

import click
from google.protobuf import json_format


def echo_response(response: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json_format.MessageToJson(response, preserving_proto_field_name=True))
        return
    status = f"status: {response.status.code} {response.status.description}"
    if response.status.details:
        status += f" ({response.status.details})"
    click.echo(status)
    for output in response.outputs:
        head = f"- input {output.input.id}: {output.status.code} {output.status.description}"
        if output.status.details:
            head += f" ({output.status.details})"
        click.echo(head)
        for embedding in output.data.embeddings:
            values = ", ".join(f"{v:.4f}" for v in embedding.vector[:8])
            click.echo(f"  embedding[{embedding.num_dimensions}]: [{values}, ...]")
        for concept in output.data.concepts:
            click.echo(f"  {concept.name or concept.id:<32} {concept.value:.4f}")
        if output.data.text.raw:
            click.echo(f"  {output.data.text.raw}")
