"""Turning wire inputs into model inputs: text and image decoding, and a safe URL fetcher.

The fetcher accepts only http(s) URLs, resolves the host and refuses loopback, private,
link-local (cloud metadata), multicast and reserved addresses unless the host is listed in
``CLARION_FETCH_ALLOW_HOSTS``; it then connects to the address it checked, so DNS cannot
answer differently in between. Redirects are followed by hand, so every hop is checked the
same way. Downloads are bounded in time (``CLARION_FETCH_TIMEOUT_S``) and size
(``CLARION_FETCH_MAX_MB``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from clarion.config import Settings
from clarion.domain.values import Input, InputKind, RawInput
from clarion.errors import (
    InputDownloadFailed,
    InputError,
    InputInvalid,
    InputOverLimit,
    InputUnsupported,
)
from clarion.images import PixelBudget, decode_image
from clarion.memory import release_memory

MAX_REDIRECTS = 5
CHAT_ROLES = ("system", "user", "assistant")
_REDIRECT_CODES = {301, 302, 303, 307, 308}


def refused_reason(address: str) -> str | None:
    """Why an IP address may not be fetched from, or None when it may."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local (cloud metadata) address"
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    return None


@dataclass(frozen=True)
class Target:
    """A checked request: the URL to connect to, and the Host header and TLS name to use."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)


class UrlFetcher:
    """Downloads input URLs with the SSRF, time and size limits from :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        self._timeout = settings.fetch_timeout_s
        self._max_bytes = settings.fetch_max_bytes
        self._allow_hosts = settings.fetch_allow_hosts
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False, trust_env=False, timeout=self._timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def fetch(self, url: str) -> bytes:
        """The body at ``url``; :class:`InputDownloadFailed` says why when it cannot be had."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._follow(url)
        except TimeoutError as exc:
            raise InputDownloadFailed(
                f"Downloading {url} took longer than {self._timeout:g} s."
            ) from exc
        except httpx.HTTPError as exc:
            raise InputDownloadFailed(f"Downloading {url} failed: {exc}") from exc

    async def _follow(self, url: str) -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            target = await self._check(url)
            async with self._http().stream(
                "GET", target.url, headers=target.headers, extensions=target.extensions
            ) as response:
                if response.status_code in _REDIRECT_CODES and "location" in response.headers:
                    url = urljoin(url, response.headers["location"])
                    continue
                if response.status_code != 200:
                    raise InputDownloadFailed(
                        f"Downloading {url} failed: HTTP {response.status_code} "
                        f"{response.reason_phrase}."
                    )
                return await self._read_bounded(url, response)
        raise InputDownloadFailed(f"Downloading failed: more than {MAX_REDIRECTS} redirects.")

    async def _read_bounded(self, url: str, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise InputDownloadFailed(
                f"{url} is {int(declared)} bytes; the limit is {self._max_bytes} bytes."
            )
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise InputDownloadFailed(
                    f"{url} is larger than the limit of {self._max_bytes} bytes."
                )
        return bytes(body)

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except OSError as exc:
            raise InputDownloadFailed(f"The host {host!r} could not be resolved: {exc}") from exc
        return [str(info[4][0]) for info in infos]

    async def _check(self, url: str) -> Target:
        """Where to connect for ``url``: the address that was checked, not a new lookup.

        Connecting to the checked address (with the original Host header and TLS server
        name) closes the gap in which a second DNS answer could point somewhere private.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise InputDownloadFailed(
                f"Only http and https URLs can be fetched, got scheme {parts.scheme!r}."
            )
        host = (parts.hostname or "").lower()
        if not host:
            raise InputDownloadFailed(f"The URL {url!r} has no host.")
        if host in self._allow_hosts:
            return Target(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        addresses = await self._addresses(host, port)
        for address in addresses:
            reason = refused_reason(address)
            if reason is not None:
                raise InputDownloadFailed(
                    f"Refused to fetch {url}: {host} resolves to {address}, {reason}. "
                    "Add the host to CLARION_FETCH_ALLOW_HOSTS to allow it."
                )
        if not addresses:
            raise InputDownloadFailed(f"The host {host!r} has no addresses.")
        pinned = addresses[0]
        literal = f"[{pinned}]" if ":" in pinned else pinned
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        return Target(
            urlunsplit(parts._replace(netloc=f"{literal}:{port}")),
            headers={"Host": parts.netloc.rpartition("@")[2]},
            extensions=extensions,
        )


class InputDecoder:
    """Decodes :class:`RawInput` values into :class:`Input` values for one model kind.

    Image decoding runs in a thread pool of its own (``CLARION_DECODE_THREADS``), so the
    inputs of a batch are decoded in parallel, never on the event loop, and no more images
    are being decoded at once in the whole process than it has threads. Each request may
    decode at most ``CLARION_MAX_REQUEST_PIXELS`` pixels across its images.
    """

    #: After a request that decoded this many pixels, free heap pages go back to the OS.
    TRIM_AFTER_PIXELS = 16_000_000

    def __init__(self, settings: Settings, fetcher: UrlFetcher) -> None:
        self._max_text_bytes = settings.max_text_bytes
        self._max_image_pixels = settings.max_image_pixels
        self._max_request_pixels = settings.max_request_pixels
        self._fetcher = fetcher
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, settings.decode_threads), thread_name_prefix="clarion-decode"
        )

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def decode_all(
        self, raws: Sequence[RawInput], kind: InputKind
    ) -> list[Input | InputError]:
        """Every input of one request decoded concurrently, within one pixel budget; an
        input that cannot be used is its :class:`InputError`, in its place."""
        budget = PixelBudget(self._max_request_pixels)

        async def one(raw: RawInput) -> Input | InputError:
            try:
                return await self.decode(raw, kind, budget)
            except InputError as exc:
                return exc

        try:
            return list(await asyncio.gather(*(one(raw) for raw in raws)))
        finally:
            if budget.used >= self.TRIM_AFTER_PIXELS:
                await asyncio.get_running_loop().run_in_executor(self._pool, release_memory)

    async def decode(
        self, raw: RawInput, kind: InputKind, budget: PixelBudget | None = None
    ) -> Input:
        if raw.messages:
            if kind is not InputKind.TEXT:
                raise InputUnsupported("This model takes image inputs, not a conversation.")
            return self._conversation(raw)
        if kind is InputKind.TEXT:
            return Input(id=raw.id, kind=kind, text=await self._text(raw))
        return Input(id=raw.id, kind=kind, image=await self._image(raw, budget))

    async def _image(self, raw: RawInput, budget: PixelBudget | None) -> Any:
        if raw.text is not None or raw.text_url:
            raise InputUnsupported("This model takes image inputs; the input carries text.")
        data = await self.image_bytes(raw)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, decode_image, data, self._max_image_pixels, budget
        )

    async def image_bytes(self, raw: RawInput) -> bytes:
        """The image an input carries, or downloads it from its URL; one of the two is given."""
        if raw.image_bytes and raw.image_url:
            raise InputInvalid("Give data.image.base64 or data.image.url, not both.")
        if raw.image_url:
            return await self._fetcher.fetch(raw.image_url)
        if raw.image_bytes:
            return raw.image_bytes
        raise InputInvalid("The input has no data: set data.image.base64 or data.image.url.")

    def _conversation(self, raw: RawInput) -> Input:
        for message in raw.messages:
            if message.role not in CHAT_ROLES:
                raise InputInvalid(
                    f"message role must be one of {', '.join(CHAT_ROLES)}, got {message.role!r}."
                )
        self._check_size(sum(len(m.content.encode("utf-8")) for m in raw.messages))
        users = [m.content for m in raw.messages if m.role == "user"]
        if not users or not any(u.strip() for u in users):
            raise InputInvalid("The conversation has no user message with text.")
        return Input(id=raw.id, kind=InputKind.TEXT, text=users[-1], messages=raw.messages)

    async def _text(self, raw: RawInput) -> str:
        if raw.image_bytes or raw.image_url:
            raise InputUnsupported("This model takes text inputs; the input carries an image.")
        if raw.text is not None and raw.text_url:
            raise InputInvalid("Give data.text.raw or data.text.url, not both.")
        if raw.text_url:
            body = await self._fetcher.fetch(raw.text_url)
            self._check_size(len(body))
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputInvalid(
                    f"The text at {raw.text_url} is not valid UTF-8 (byte {exc.start})."
                ) from exc
        elif raw.text is not None:
            text = raw.text
            self._check_size(len(text.encode("utf-8")))
        else:
            raise InputInvalid("The input has no data: set data.text.raw or data.text.url.")
        if not text.strip():
            raise InputInvalid("The input text is empty.")
        return text

    def _check_size(self, size: int) -> None:
        if size > self._max_text_bytes:
            raise InputOverLimit(
                f"The input text is {size} bytes; the limit is {self._max_text_bytes} bytes."
            )
