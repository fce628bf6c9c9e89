"""PATs: created once, stored as digests, verified, revoked."""

from __future__ import annotations

import sqlite3
import time

import pytest

from clarion.auth import KeyManager, Principal, token_from_header
from clarion.config import Settings
from clarion.errors import KeyInvalid, KeyNotFound, MissingKey, StatusCode
from clarion.registry import Registry
from clarion.registry.changes import ChangeWatch
from clarion.registry.records import KeyRecord


@pytest.fixture
def keys(settings: Settings) -> KeyManager:
    return KeyManager(Registry.open(settings.resolved_database_url))


def test_a_created_key_authenticates_as_its_user(keys: KeyManager) -> None:
    pat = keys.create("alice", "laptop")
    assert len(pat) == 32
    assert keys.authenticate(f"Key {pat}") == Principal("alice", pat[:8])
    assert keys.authenticate(f"Bearer {pat}").user_id == "alice"


def test_only_a_digest_is_stored(keys: KeyManager, settings: Settings) -> None:
    pat = keys.create("alice")
    raw = (settings.home / "registry.db").read_bytes()
    with sqlite3.connect(settings.home / "registry.db") as conn:
        rows = conn.execute("SELECT key_id, digest FROM api_keys").fetchall()
    assert pat.encode() not in raw
    assert rows and all(pat not in row for row in rows)


def test_unknown_and_tampered_keys_are_not_found(keys: KeyManager) -> None:
    pat = keys.create("alice")
    for bad in ("0" * 32, pat[:8] + "0" * 24, pat[:-1] + ("0" if pat[-1] != "0" else "1")):
        with pytest.raises(KeyNotFound) as info:
            keys.authenticate(f"Key {bad}")
        assert info.value.code == StatusCode.CONN_KEY_NOT_FOUND


def test_revoked_key_is_invalid(keys: KeyManager) -> None:
    pat = keys.create("alice")
    assert keys.revoke(pat[:8])
    with pytest.raises(KeyInvalid) as info:
        keys.authenticate(f"Key {pat}")
    assert info.value.code == StatusCode.CONN_KEY_INVALID
    assert not keys.revoke("nonexist")


@pytest.mark.parametrize("value", [None, "", "   ", "Key", "Basic abc", "Key  "])
def test_missing_or_malformed_header(value: str | None) -> None:
    with pytest.raises(MissingKey) as info:
        token_from_header(value)
    assert info.value.code == StatusCode.CONN_INVALID_REQUEST
    assert "Key <PAT>" in info.value.details


def test_public_models_are_readable_by_everyone() -> None:
    alice = Principal("alice", "k")
    assert alice.can_read("clarion") and alice.can_read("alice") and not alice.can_read("bob")


def test_a_key_revoked_through_another_server_stops_working_within_the_cache_time(
    settings: Settings,
) -> None:
    """Two servers on one registry: each caches key records for ``cache_s`` seconds, so a
    revocation through one reaches the other within that time."""
    cache_s = 0.3
    one = KeyManager(Registry.open(settings.resolved_database_url), cache_s)
    other = KeyManager(Registry.open(settings.resolved_database_url), cache_s)
    pat = one.create("alice")
    assert other.authenticate(f"Key {pat}").user_id == "alice"  # now in the other's cache
    assert one.revoke(pat[:8])
    with pytest.raises(KeyInvalid):
        one.authenticate(f"Key {pat}")
    time.sleep(cache_s + 0.05)
    with pytest.raises(KeyInvalid):
        other.authenticate(f"Key {pat}")


def test_with_the_change_count_a_key_is_not_read_again_until_something_changes(
    settings: Settings,
) -> None:
    """A server's watch on the registry: a key record read once serves for as long as the
    change count holds, and a revocation through another server raises the count, so the
    next read of it makes this server read the key again."""
    cache_s = 0.3
    registry = Registry.open(settings.resolved_database_url)
    watch = ChangeWatch(registry.change_count, cache_s)
    one = KeyManager(registry, cache_s, watch)
    other = KeyManager(Registry.open(settings.resolved_database_url), cache_s)
    pat = other.create("alice")
    watch.poll()
    reads: list[str] = []
    find_key = registry.find_key

    def counted_find_key(key_id: str) -> KeyRecord | None:
        reads.append(key_id)
        return find_key(key_id)

    registry.find_key = counted_find_key  # type: ignore[method-assign]
    assert one.authenticate(f"Key {pat}").user_id == "alice"
    time.sleep(cache_s + 0.05)
    watch.poll()
    assert one.authenticate(f"Key {pat}").user_id == "alice"
    assert len(reads) == 1, "past the cache time, but nothing changed: not read again"
    assert other.revoke(pat[:8])
    assert one.authenticate(f"Key {pat}").user_id == "alice", "the count read before the change"
    watch.poll()
    with pytest.raises(KeyInvalid):
        one.authenticate(f"Key {pat}")
    assert len(reads) == 2
