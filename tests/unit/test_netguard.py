"""The SSRF guard: which addresses and URLs may be fetched."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
        "https://localhost./x",
        "https://a.localhost./x",
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


# IPv6 forms that carry an IPv4 address: judged by the IPv4 they embed (issue 14, item 10).
@pytest.mark.parametrize(
    "address",
    [
        "::7f00:1",  # IPv4-compatible 127.0.0.1
        "::ffff:0:7f00:1",  # IPv4-translated 127.0.0.1
        "64:ff9b::7f00:1",  # NAT64 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 169.254.169.254
        "64:ff9b:1::a00:1",  # local-use NAT64 10.0.0.1
        "64:ff9b:1:ffff::5db8:d822",  # local-use NAT64: never public, whatever it embeds
        "2002:7f00:1::1",  # 6to4 127.0.0.1
        "2002:a00:1::1",  # 6to4 10.0.0.1
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "2001:0:a00:1:8000:63bf:a2b7:2791",  # Teredo, server 10.0.0.1
    ],
)
def test_ipv6_forms_embedding_a_private_ipv4(address: str) -> None:
    assert not is_public_ip(address)
    with pytest.raises(BlockedAddressError):
        check_url(f"https://[{address}]/actor", allow_private=False, allow_http=False)


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::5db8:d822",  # NAT64 93.184.216.34
        "2002:5db8:d822::1",  # 6to4 93.184.216.34
        "2001:0:4136:e378:8000:63bf:a2b7:2791",  # Teredo: 65.54.227.120, 93.72.216.110
    ],
)
def test_ipv6_forms_embedding_a_public_ipv4(address: str) -> None:
    assert is_public_ip(address)


_V4 = st.integers(min_value=0, max_value=2**32 - 1)


def _embeddings(v4: int, rest: int) -> list[int]:
    """Every IPv6 form of ``v4`` we judge by it; ``rest`` fills the bits the form leaves free."""
    low64 = rest & (2**64 - 1)
    return [
        0xFFFF << 32 | v4,  # ::ffff:a.b.c.d
        0xFFFF << 48 | v4,  # ::ffff:0:a.b.c.d
        v4,  # ::a.b.c.d
        0x64FF9B << 96 | v4,  # 64:ff9b::a.b.c.d
        0x2002 << 112 | v4 << 80 | (rest & (2**80 - 1)),  # 6to4
        0x20010000 << 96 | v4 << 64 | (low64 & ~0xFFFFFFFF) | (~v4 & 0xFFFFFFFF),  # Teredo, both
    ]


@given(v4=_V4, rest=st.integers(min_value=0, max_value=2**128 - 1))
def test_embedded_ipv4_decides(v4: int, rest: int) -> None:
    expected = is_public_ip(str(ipaddress.IPv4Address(v4)))
    for form in _embeddings(v4, rest):
        ip6 = ipaddress.IPv6Address(form)
        assert is_public_ip(str(ip6)) is expected, ip6


@given(rest=st.integers(min_value=0, max_value=2**80 - 1))
def test_local_use_nat64_is_never_public(rest: int) -> None:
    assert not is_public_ip(str(ipaddress.IPv6Address(0x64FF9B0001 << 80 | rest)))
