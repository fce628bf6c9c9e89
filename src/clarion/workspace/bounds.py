"""The bounds every workspace request shares: how many items one request names, and the
longest ids, names and descriptions the registry's columns hold."""

from __future__ import annotations

from collections.abc import Iterable

from clarion.errors import InvalidRequest

MAX_INPUTS_PER_REQUEST = 128
MAX_IDS_PER_REQUEST = 1000
MAX_ID_LENGTH = 128
MAX_NAME_LENGTH = 256
MAX_APP_DESCRIPTION = 1000
MAX_DESCRIPTION = 2000


def bounded_ids(ids: Iterable[str], kind: str) -> list[str]:
    """The ids a Delete* request names, at most :data:`MAX_IDS_PER_REQUEST` of them."""
    found = list(ids)
    if len(found) > MAX_IDS_PER_REQUEST:
        raise InvalidRequest(
            f"Name at most {MAX_IDS_PER_REQUEST} {kind} ids a request, got {len(found)}."
        )
    return found


def bounded_text(value: str, name: str, limit: int) -> str:
    """``value`` when it is at most ``limit`` characters long, else a 400 naming ``name``."""
    if len(value) > limit:
        raise InvalidRequest(f"{name} is {len(value)} characters long; the limit is {limit}.")
    return value


def checked_id(kind: str, value: str) -> str:
    """``value`` as the id of a new ``kind``: 1 to :data:`MAX_ID_LENGTH` characters, no '/'."""
    if not value or len(value) > MAX_ID_LENGTH or "/" in value:
        raise InvalidRequest(
            f"Each {kind} needs an id of 1 to {MAX_ID_LENGTH} characters without '/', "
            f"got {value!r}."
        )
    return value
