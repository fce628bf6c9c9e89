"""``clarion keys``: create, list and revoke API keys in the local registry."""

from __future__ import annotations

import click

from clarion.auth import KeyManager
from clarion.cli.common import settings
from clarion.registry import Registry


def _keys() -> tuple[Registry, KeyManager]:
    registry = Registry.open(settings().resolved_database_url)
    return registry, KeyManager(registry)


@click.group()
def keys() -> None:
    """Manage API keys (PATs). Keys are stored only as hashes."""


@keys.command("create")
@click.option("--user", "user_id", required=True, help="The user the key acts as.")
@click.option("--description", default="", help="A note shown by `keys list`.")
def create(user_id: str, description: str) -> None:
    """Create a key and print it once; it cannot be shown again."""
    registry, manager = _keys()
    try:
        click.echo(manager.create(user_id, description))
    finally:
        registry.close()


@keys.command("list")
@click.option("--user", "user_id", default=None, help="Only this user's keys.")
def list_keys(user_id: str | None) -> None:
    """List keys by id (their first 8 characters), user and state."""
    registry, _ = _keys()
    try:
        for key in registry.list_keys(user_id):
            state = "active" if key.active else f"revoked {key.revoked_at:%Y-%m-%d %H:%M}"
            click.echo(
                f"{key.key_id}  {key.user_id:<16} {state:<24} "
                f"{key.created_at:%Y-%m-%d %H:%M}  {key.description}"
            )
    finally:
        registry.close()


@keys.command("revoke")
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke the key whose id (or full token) is KEY_ID."""
    registry, manager = _keys()
    try:
        if not manager.revoke(key_id):
            raise click.ClickException(f"No key with id {key_id[:8]!r}.")
        click.echo(f"revoked {key_id[:8]}")
    finally:
        registry.close()
