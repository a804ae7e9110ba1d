"""The SSRF guard: which addresses and URLs may be fetched."""

from __future__ import annotations

import pytest

from cityfed.federation.netguard import BlockedAddressError, check_url, is_public_ip


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "100.64.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "not-an-ip",
    ],
)
def test_non_public_addresses(address: str) -> None:
    assert not is_public_ip(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::6810:84e5", "1.1.1.1"])
def test_public_addresses(address: str) -> None:
    assert is_public_ip(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/actor",
        "https://127.0.0.1:8443/x",
        "https://[::1]/x",
        "https://10.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/x",
        "https://a.localhost/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "https://user:pw@example.com/",
        "http://example.com/x",
        "https:///nohost",
    ],
)
def test_refused_urls(url: str) -> None:
    with pytest.raises(BlockedAddressError):
        check_url(url, allow_private=False, allow_http=False)


def test_allowed_urls() -> None:
    check_url("https://example.com/actors/x", allow_private=False, allow_http=False)
    check_url("https://93.184.216.34/x", allow_private=False, allow_http=False)
    check_url("http://example.com/x", allow_private=False, allow_http=True)
    check_url("http://127.0.0.1:8080/x", allow_private=True, allow_http=False)
    with pytest.raises(BlockedAddressError):
        check_url("ftp://127.0.0.1/x", allow_private=True, allow_http=True)
