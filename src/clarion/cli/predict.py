"""``clarion predict``: one prediction, in-process or against a server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click
from clarifai_grpc.grpc.api import resources_pb2, service_pb2

from clarion.auth import BOOTSTRAP_USER, Principal
from clarion.cli.common import base_url_option, pat_option, root_cert_option, saved_pat, settings
from clarion.cli.output import echo_response
from clarion.client import ClarionApiError, Inputs, Model, parse_model_url


def model_address(model: str) -> tuple[str, str, str, str]:
    """``(user, app, model, version)`` from an id, ``user/app/model`` or a model URL."""
    if "/models/" in model:
        return parse_model_url(model)
    parts = model.split("/")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2], ""
    if len(parts) == 1:
        return "clarion", "main", model, ""
    raise click.BadParameter(f"expected MODEL_ID, USER/APP/MODEL_ID or a model URL, got {model!r}")


def _input(text: str | None, file: Path | None, url: str | None, input_type: str) -> Any:
    given = [v for v in (text, file, url) if v is not None]
    if len(given) != 1:
        raise click.UsageError("Give exactly one of TEXT, --file or --url.")
    if url is not None:
        if input_type == "text":
            return Inputs.get_input_from_url(text_url=url)
        return Inputs.get_input_from_url(image_url=url)
    raw = file.read_bytes() if file is not None else (text or "").encode()
    if input_type == "text":
        return Inputs.get_input_from_bytes(text_bytes=raw)
    return Inputs.get_input_from_bytes(image_bytes=raw)


def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``NAME=VALUE`` pairs as inference params; VALUE is JSON when it parses."""
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint="--param")
        try:
            params[name] = json.loads(raw)
        except ValueError:
            params[name] = raw
    return params


def _client(
    model_id: str,
    user_id: str,
    app_id: str,
    version_id: str,
    base_url: str,
    pat: str | None,
    root_certificates_path: Path | None,
) -> Model:
    return Model(
        model_id=model_id,
        user_id=user_id,
        app_id=app_id,
        model_version={"id": version_id},
        pat=pat or saved_pat(settings()),
        base_url=base_url,
        root_certificates_path=root_certificates_path,
    )


def _stream(
    model_id: str,
    user_id: str,
    app_id: str,
    version_id: str,
    item: Any,
    params: dict[str, Any],
    base_url: str | None,
    pat: str | None,
    root_certificates_path: Path | None,
) -> None:
    """Print each piece of generated text as it arrives (a server is needed: --base-url)."""
    if base_url is None:
        raise click.UsageError("--stream talks to a server: give --base-url.")
    client = _client(model_id, user_id, app_id, version_id, base_url, pat, root_certificates_path)
    try:
        for response in client.generate([item], inference_params=params):
            click.echo(response.outputs[0].data.text.raw, nl=False)
        click.echo()
    except ClarionApiError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        client.close()


async def _in_process(request: service_pb2.PostModelOutputsRequest) -> Any:
    from clarion.core import Core

    core = Core.open(settings())
    try:
        principal = Principal(user_id=BOOTSTRAP_USER, key_id="local")
        return await core.handlers.call("PostModelOutputs", request, principal)
    finally:
        await core.aclose()


@click.command()
@click.argument("model")
@click.argument("text", required=False)
@click.option("--file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default=None, help="Fetch the input from this URL.")
@click.option("--input-type", type=click.Choice(["text", "image"]), default="text")
@click.option("--version", "version_id", default="", help="A model version id (default: latest).")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="An inference parameter, e.g. max_tokens=100 (repeatable; VALUE is read as JSON "
    "when it parses, else as a string).",
)
@click.option("--stream", is_flag=True, help="Print generated text as it is produced.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole response as JSON.")
@base_url_option
@pat_option
@root_cert_option
def predict(
    model: str,
    text: str | None,
    file: Path | None,
    url: str | None,
    input_type: str,
    version_id: str,
    params: tuple[str, ...],
    stream: bool,
    as_json: bool,
    base_url: str | None,
    pat: str | None,
    root_certificates_path: Path | None,
) -> None:
    """Predict MODEL on TEXT, a --file or a --url.

    MODEL is a built-in model id (e.g. all-minilm-l6-v2), USER/APP/MODEL_ID or a model URL.
    Without --base-url the model runs in this process, acting as the local admin user.
    """
    user_id, app_id, model_id, url_version = model_address(model)
    item = _input(text, file, url, input_type)
    version_id = version_id or url_version
    inference_params = parse_params(params)
    if stream:
        _stream(model_id, user_id, app_id, version_id, item, inference_params, base_url, pat,
                root_certificates_path)  # fmt: skip
        return
    if base_url is None:
        request = service_pb2.PostModelOutputsRequest(
            user_app_id=resources_pb2.UserAppIDSet(user_id=user_id, app_id=app_id),
            model_id=model_id,
            version_id=version_id,
            inputs=[item],
        )
        if inference_params:
            request.model.model_version.output_info.params.update(inference_params)
        response = asyncio.run(_in_process(request))
    else:
        client = _client(
            model_id, user_id, app_id, version_id, base_url, pat, root_certificates_path
        )
        try:
            response = client.predict([item], inference_params=inference_params)
        except ClarionApiError as exc:
            raise click.ClickException(str(exc)) from exc
        finally:
            client.close()
    echo_response(response, as_json)
    if response.status.code not in (10000, 10010):
        raise SystemExit(1)
