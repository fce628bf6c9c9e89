"""The URL fetcher's address policy (no sockets needed: refusals happen before connecting)."""

from __future__ import annotations

import asyncio

import pytest

from clarion.config import Settings
from clarion.errors import InputDownloadFailed
from clarion.inputs import UrlFetcher, refused_reason


@pytest.mark.parametrize(
    "address, reason",
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("fd00::1", "private"),
        ("0.0.0.0", "reserved"),
        ("224.0.0.1", "reserved"),
    ],
)
def test_internal_addresses_are_refused(address: str, reason: str) -> None:
    refused = refused_reason(address)
    assert refused is not None and reason in refused


def test_public_addresses_are_allowed() -> None:
    assert refused_reason("93.184.216.34") is None
    assert refused_reason("2606:4700::1111") is None


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("ftp://example.com/x", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("http://127.0.0.1:1/x", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.1/x", "private"),
        ("http:///nohost", "no host"),
    ],
)
def test_fetch_refuses_before_connecting(url: str, fragment: str) -> None:
    fetcher = UrlFetcher(Settings.from_env({}))
    with pytest.raises(InputDownloadFailed) as info:
        asyncio.run(fetcher.fetch(url))
    assert fragment in info.value.details


class _FixedDns(UrlFetcher):
    """A fetcher whose DNS answers are given, to see where it would connect."""

    def __init__(self, answers: list[str]) -> None:
        super().__init__(Settings.from_env({}))
        self.answers = answers

    async def _addresses(self, host: str, port: int) -> list[str]:
        return self.answers


def test_the_checked_address_is_the_one_connected_to() -> None:
    target = asyncio.run(_FixedDns(["93.184.216.34"])._check("https://example.com/a.jpg?x=1"))
    assert target.url == "https://93.184.216.34:443/a.jpg?x=1"
    assert target.headers == {"Host": "example.com"}
    assert target.extensions == {"sni_hostname": "example.com"}
    v6 = asyncio.run(_FixedDns(["2606:4700::1111"])._check("http://example.com:8080/b"))
    assert v6.url == "http://[2606:4700::1111]:8080/b" and v6.headers == {
        "Host": "example.com:8080"
    }
    assert v6.extensions == {}


def test_any_private_answer_refuses_the_host() -> None:
    with pytest.raises(InputDownloadFailed, match=r"10\.0\.0\.5, a private address"):
        asyncio.run(_FixedDns(["93.184.216.34", "10.0.0.5"])._check("http://example.com/"))
