"""Tests for the Digest / Content-Digest helpers (the structured-field parser: test_sfv.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub.digest import (
    content_digest_header,
    digest_header,
    verify_content_digest,
    verify_digest_header,
)
from cityfed.activitypub.sigerrors import SignatureError

# The body used by draft-cavage Appendix C, RFC 9421 Appendix B and RFC 9530's examples,
# with the digests those documents print for it.
BODY = b'{"hello": "world"}'
SHA256_B64 = "X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="
SHA512_B64 = (
    "WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew=="
)


# --- Digest (RFC 3230) ------------------------------------------------------------------


def test_digest_header_matches_published_value() -> None:
    assert digest_header(BODY) == f"SHA-256={SHA256_B64}"


@pytest.mark.parametrize(
    "value",
    [
        f"SHA-256={SHA256_B64}",
        f"sha-256={SHA256_B64}",
        f"SHA-512={SHA512_B64}",
        f"SHA-256={SHA256_B64}, SHA-512={SHA512_B64}",
        f"MD5=whatever,SHA-256={SHA256_B64}",  # unknown entries are skipped
        f" SHA-256 = {SHA256_B64} ",
    ],
)
def test_verify_digest_header_accepts(value: str) -> None:
    verify_digest_header(value, BODY)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f"SHA-256={SHA256_B64}", "does not match"),  # checked against another body below
        ("MD5=abc", "no supported algorithm"),
        ("", "malformed"),
        ("SHA-256", "malformed"),
        ("SHA-256=not base64!", "not valid base64"),
    ],
)
def test_verify_digest_header_rejects(value: str, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_digest_header(value, BODY + b" ")


def test_every_supported_digest_must_match() -> None:
    wrong512 = base64.b64encode(hashlib.sha512(b"other").digest()).decode()
    with pytest.raises(SignatureError, match="SHA-512 does not match"):
        verify_digest_header(f"SHA-256={SHA256_B64}, SHA-512={wrong512}", BODY)


# --- Content-Digest (RFC 9530) ----------------------------------------------------------


def test_content_digest_matches_published_values() -> None:
    assert content_digest_header(BODY) == f"sha-256=:{SHA256_B64}:"
    assert content_digest_header(BODY, "SHA-512") == f"sha-512=:{SHA512_B64}:"


def test_content_digest_rejects_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        content_digest_header(BODY, "md5")


@pytest.mark.parametrize(
    "value",
    [
        f"sha-256=:{SHA256_B64}:",
        f"sha-512=:{SHA512_B64}:",
        f"sha-512=:{SHA512_B64}:, sha-256=:{SHA256_B64}:",
        f"md5=:AAAA:, sha-256=:{SHA256_B64}:;p=1",
    ],
)
def test_verify_content_digest_accepts(value: str) -> None:
    verify_content_digest(value, BODY)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (f"sha-256=:{SHA256_B64}:, sha-512=:{SHA256_B64}:", "sha-512 does not match"),
        ("md5=:AAAA:", "no supported algorithm"),
        ("", "no supported algorithm"),
        (f'sha-256="{SHA256_B64}"', "not a byte sequence"),
        (f"sha-256={SHA256_B64}", "malformed structured field"),
        ("sha-256=:!!!:", "malformed structured field"),
    ],
)
def test_verify_content_digest_rejects(value: str, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        verify_content_digest(value, BODY)


@given(body=st.binary(max_size=512), algorithm=st.sampled_from(["sha-256", "sha-512"]))
def test_digest_round_trip(body: bytes, algorithm: str) -> None:
    verify_digest_header(digest_header(body), body)
    verify_content_digest(content_digest_header(body, algorithm), body)


@given(body=st.binary(min_size=1, max_size=512), data=st.data())
def test_digest_detects_any_changed_byte(body: bytes, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    with pytest.raises(SignatureError):
        verify_digest_header(digest_header(body), tampered)
    with pytest.raises(SignatureError):
        verify_content_digest(content_digest_header(body), tampered)
