"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import os
from pathlib import Path

import click

from clarion.atomic import private_dir
from clarion.config import Settings

base_url_option = click.option(
    "--base-url",
    default=None,
    help="A server's gRPC address, e.g. http://127.0.0.1:50051 (default: run in-process).",
)
pat_option = click.option(
    "--pat", default=None, help="Key for --base-url (default: $CLARION_PAT, then the saved key)."
)
root_cert_option = click.option(
    "--root-cert",
    "root_certificates_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CA certificate to trust for an https:// --base-url.",
)


def settings(**overrides: object) -> Settings:
    """Settings from the environment, with the CLI's flags (None = not given) on top."""
    try:
        return Settings.from_env(None, **overrides)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def saved_pat(s: Settings) -> str:
    """The key to use against a server: --pat, $CLARION_PAT, or the one saved by ``serve``."""
    if os.environ.get("CLARION_PAT"):
        return os.environ["CLARION_PAT"]
    if s.credentials_file.is_file():
        return s.credentials_file.read_text().strip()
    raise click.UsageError("No key: pass --pat, set CLARION_PAT, or run `clarion keys create`.")


def save_pat(s: Settings, pat: str) -> None:
    """Save the local CLI's key with owner-only permissions."""
    private_dir(s.home)
    path = s.credentials_file
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pat + "\n")
