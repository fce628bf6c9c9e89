"""``clarion serve``: run the gRPC and REST servers until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

import click

from clarion.cli.common import save_pat, settings
from clarion.client import ClarionApiError, Model
from clarion.core import Core
from clarion.home_lock import HomeInUse
from clarion.server import ClarionServer

#: The demo asks the default chat model (or, where only the small one is installed, that
#: one) the product's own example question.
DEMO_MODELS = ("qwen2.5-coder-1.5b-instruct", "smollm2-135m-instruct")
DEMO_QUESTION = "Who was president of the United States in 1955?"


def _banner(server: ClarionServer, pat: str | None, new_key: bool) -> None:
    s = server.core.settings
    host = s.host
    click.echo(f"Clarion is serving gRPC on {server.scheme}://{host}:{server.grpc_port}")
    click.echo(f"                   REST on {server.scheme}://{host}:{server.rest_port}")
    click.echo(f"             playground on {server.scheme}://{host}:{server.rest_port}/")
    if new_key:
        click.echo(f"\nA key was created (shown once, saved for the CLI in {s.credentials_file}):")
        click.echo(f"  {pat}")
    key = pat or "$CLARION_PAT"
    click.echo("\nTry it:")
    click.echo(
        f"  curl -s {server.scheme}://{host}:{server.rest_port}"
        "/v2/users/clarion/apps/main/models/all-minilm-l6-v2/outputs \\\n"
        f"    -H 'Authorization: Key {key}' -H 'Content-Type: application/json' \\\n"
        """    -d '{"inputs": [{"data": {"text": {"raw": "Hello, Clarion"}}}]}'"""
    )
    click.echo(
        f"  clarion predict all-minilm-l6-v2 'Hello, Clarion' "
        f"--base-url {server.scheme}://{host}:{server.grpc_port}"
    )


def _demo(server: ClarionServer, pat: str, root_cert: Path | None) -> None:
    """One real prediction through the gRPC port, as the seed's base_url example does."""
    s = server.core.settings
    base_url = f"{server.scheme}://{s.host}:{server.grpc_port}"
    failures = []
    for model_id in DEMO_MODELS:
        try:
            with Model(
                url=f"{base_url}/clarion/main/models/{model_id}",
                pat=pat,
                base_url=base_url,
                root_certificates_path=root_cert,
            ) as model:
                response = model.predict_by_bytes(
                    DEMO_QUESTION.encode(),
                    "text",
                    inference_params={"do_sample": False, "max_tokens": 64},
                )
        except ClarionApiError as exc:
            failures.append(f"{model_id}: {exc}")
            continue
        click.echo(f"\nDemo over gRPC, {model_id} (greedy):\n  Q: {DEMO_QUESTION}")
        click.echo(f"  A: {response.outputs[0].data.text.raw.strip()}")
        return
    click.echo(f"\nDemo prediction failed: {'; '.join(failures)}", err=True)


async def _serve(demo: bool, **overrides: object) -> None:
    s = settings(**overrides)
    core = Core.open(s)
    new_pat = core.ensure_bootstrap_key()
    if new_pat:
        save_pat(s, new_pat)
    pat = (
        new_pat
        or s.bootstrap_pat
        or (s.credentials_file.read_text().strip() if s.credentials_file.is_file() else None)
    )
    server = ClarionServer(core)
    try:
        await server.start()
    except HomeInUse as exc:
        await core.aclose()
        raise click.ClickException(str(exc)) from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    _banner(server, pat, new_key=bool(new_pat))
    if demo and pat:
        await asyncio.to_thread(_demo, server, pat, s.tls_cert)
    click.echo("\nPress Ctrl+C to stop.")
    await stop.wait()
    click.echo("Stopping: finishing in-flight requests...")
    await server.stop()
    click.echo("Stopped.")


@click.command()
@click.option("--host", default=None, help="Address to bind (default $CLARION_HOST or 127.0.0.1).")
@click.option("--grpc-port", type=int, default=None, help="gRPC port (default 50051; 0 = any).")
@click.option("--rest-port", type=int, default=None, help="REST port (default 8000; 0 = any).")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--preload",
    multiple=True,
    help="Load this model at start instead of on first use (repeatable; 'all' = every one).",
)
@click.option(
    "--ray-address",
    default=None,
    help="Run the models on this Ray cluster ('auto': the local Ray node's; needs clarion[ray]).",
)
@click.option("--demo", is_flag=True, help="After start, run one prediction and print it.")
def serve(
    host: str | None,
    grpc_port: int | None,
    rest_port: int | None,
    tls_cert: Path | None,
    tls_key: Path | None,
    preload: tuple[str, ...],
    ray_address: str | None,
    demo: bool,
) -> None:
    """Serve the built-in models over gRPC and REST until interrupted."""
    if (tls_cert is None) != (tls_key is None):
        raise click.UsageError("--tls-cert and --tls-key go together.")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # httpx logs every request at INFO: each call to the engine's private socket, and the
    # URLs of users' inputs. Its warnings still show.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(
        _serve(
            demo,
            host=host,
            grpc_port=grpc_port,
            rest_port=rest_port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            preload=frozenset(preload) or None,
            ray_address=ray_address,
        )
    )
