"""Personal access tokens (PATs): creation, verification and who may read what.

A PAT is 32 hex characters. The registry keeps its first 8 characters (the key id, shown by
``clarion keys list`` and used to revoke it) and the SHA-256 digest of the whole token; the
token itself is printed once and never stored by the server. Digests are compared with
:func:`hmac.compare_digest`.

    keys = KeyManager(registry)
    pat = keys.create("alice", description="laptop")
    principal = keys.authenticate(f"Key {pat}")
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from clarion.errors import KeyInvalid, KeyNotFound, MissingKey
from clarion.registry import KeyRecord, Registry
from clarion.ttl_cache import Changes, TtlCache

#: The user that owns the built-in models; its apps are readable by every authenticated user.
PUBLIC_USER = "clarion"
#: The user that the first (bootstrap) key belongs to.
BOOTSTRAP_USER = "admin"

KEY_ID_LENGTH = 8
_PAT_HEX_LENGTH = 32
_SCHEMES = ("key", "bearer")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    key_id: str

    def can_read(self, owner_user_id: str) -> bool:
        """Whether this caller may see resources owned by ``owner_user_id``."""
        return owner_user_id in (self.user_id, PUBLIC_USER)


def digest(pat: str) -> str:
    return hashlib.sha256(pat.encode()).hexdigest()


def token_from_header(value: str | None) -> str:
    """The token in an ``authorization`` value of the form ``Key <PAT>`` (or ``Bearer <PAT>``)."""
    if not value or not value.strip():
        raise MissingKey(
            "The 'authorization' header is missing: send gRPC metadata 'authorization: Key <PAT>' "
            "or the HTTP header 'Authorization: Key <PAT>'."
        )
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() not in _SCHEMES or not token.strip():
        raise MissingKey(
            "The 'authorization' header must have the form 'Key <PAT>', "
            f"got a value starting with {scheme[:10]!r}."
        )
    return token.strip()


class KeyManager:
    """Creates, verifies and revokes PATs stored in the registry."""

    def __init__(
        self, registry: Registry, cache_s: float = 1.0, changes: Changes | None = None
    ) -> None:
        self._registry = registry
        # Key records are re-read at most every ``cache_s`` seconds, or once the registry's
        # ``changes`` say so, so a revocation made by another process (``clarion keys
        # revoke``) takes effect within that time.
        self._records: TtlCache[str, KeyRecord | None] = TtlCache(cache_s, changes=changes)

    def create(self, user_id: str, description: str = "") -> str:
        """Make a new PAT for ``user_id`` and return it; it cannot be shown again."""
        while True:
            pat = secrets.token_hex(_PAT_HEX_LENGTH // 2)
            if self._registry.find_key(pat[:KEY_ID_LENGTH]) is None:
                break
        self._registry.add_key(pat[:KEY_ID_LENGTH], user_id, digest(pat), description)
        return pat

    def adopt(self, pat: str, user_id: str, description: str = "") -> bool:
        """Register a PAT chosen by the operator (``CLARION_PAT``); False if already known."""
        if len(pat) < 16:
            raise ValueError("CLARION_PAT must be at least 16 characters long.")
        return self._registry.ensure_key(pat[:KEY_ID_LENGTH], user_id, digest(pat), description)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal for an ``authorization`` header value, or an :class:`AuthError`."""
        token = token_from_header(authorization)
        key_id = token[:KEY_ID_LENGTH]
        record = self._records.get_or_load(key_id, lambda: self._registry.find_key(key_id))
        if record is None or not hmac.compare_digest(record.digest, digest(token)):
            raise KeyNotFound("The API key is not known to this server.")
        if not record.active:
            raise KeyInvalid(f"The API key {record.key_id}... was revoked.")
        return Principal(user_id=record.user_id, key_id=record.key_id)

    def revoke(self, key_id: str) -> bool:
        self._records.clear()
        return self._registry.revoke_key(key_id[:KEY_ID_LENGTH])
