"""Tests for draft-cavage HTTP signatures: the draft's own test vectors, the interop shapes
Mastodon and Misskey produce, the verification policy, and hypothesis round trip / tamper
properties."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityfed.activitypub.cavage import (
    CavageSignature,
    load_public_key_pem,
    parse_authorization_header,
    parse_signature_header,
    sign_request,
    sign_string,
    signing_string,
    verify_request,
    verify_signature,
)
from cityfed.activitypub.digest import digest_header
from cityfed.activitypub.headers import format_http_date, parse_http_date
from cityfed.activitypub.sigerrors import SignatureError

# --- draft-cavage-http-signatures-12, Appendix C ------------------------------------------
# The "Test" key and request of Appendix C (unchanged since draft -09), the signatures of
# C.1 Default Test, C.2 Basic Test and C.3 All Headers Test. Draft 12 changed C.3 to also
# cover (created) and (expires); draft 10's C.3, without them, is checked as well.

CAVAGE_PUBLIC_PEM = """-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3
6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6
Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw
oYi+1hqp1fIekaxsyQIDAQAB
-----END PUBLIC KEY-----
"""

CAVAGE_PRIVATE_PEM = b"""-----BEGIN RSA PRIVATE KEY-----
MIICXgIBAAKBgQDCFENGw33yGihy92pDjZQhl0C36rPJj+CvfSC8+q28hxA161QF
NUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6Z4UMR7EOcpfdUE9Hf3m/hs+F
UR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJwoYi+1hqp1fIekaxsyQIDAQAB
AoGBAJR8ZkCUvx5kzv+utdl7T5MnordT1TvoXXJGXK7ZZ+UuvMNUCdN2QPc4sBiA
QWvLw1cSKt5DsKZ8UETpYPy8pPYnnDEz2dDYiaew9+xEpubyeW2oH4Zx71wqBtOK
kqwrXa/pzdpiucRRjk6vE6YY7EBBs/g7uanVpGibOVAEsqH1AkEA7DkjVH28WDUg
f1nqvfn2Kj6CT7nIcE3jGJsZZ7zlZmBmHFDONMLUrXR/Zm3pR5m0tCmBqa5RK95u
412jt1dPIwJBANJT3v8pnkth48bQo/fKel6uEYyboRtA5/uHuHkZ6FQF7OUkGogc
mSJluOdc5t6hI1VsLn0QZEjQZMEOWr+wKSMCQQCC4kXJEsHAve77oP6HtG/IiEn7
kpyUXRNvFsDE0czpJJBvL/aRFUJxuRK91jhjC68sA7NsKMGg5OXb5I5Jj36xAkEA
gIT7aFOYBFwGgQAQkWNKLvySgKbAZRTeLBacpHMuQdl1DfdntvAyqpAZ0lY0RKmW
G6aFKaqQfOXKCyWoUiVknQJAXrlgySFci/2ueKlIE1QqIiLSZ8V8OlpFLRnb1pzI
7U1yQXnTAEFYM560yJlzUpOb1V4cScGd365tiSMvxLOvTA==
-----END RSA PRIVATE KEY-----
"""

CAVAGE_URL = "https://example.com/foo?param=value&pet=dog"
CAVAGE_TARGET = "/foo?param=value&pet=dog"
CAVAGE_BODY = b'{"hello": "world"}'
CAVAGE_DATE = datetime(2014, 1, 5, 21, 31, 40, tzinfo=UTC)
CAVAGE_HEADERS = {
    "Host": "example.com",
    "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
    "Content-Type": "application/json",
    "Digest": "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
    "Content-Length": "18",
}

DEFAULT_TEST_HEADER = (
    'keyId="Test",algorithm="rsa-sha256",'
    'signature="SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz'
    "6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB"
    '6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM="'
)
BASIC_TEST_HEADER = (
    'keyId="Test",algorithm="rsa-sha256",headers="(request-target) host date",'
    'signature="qdx+H7PHHDZgy4y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn'
    "7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBs"
    'kLu6kd9Fswtemr3lgdDEmn04swr2Os0="'
)
ALL_HEADERS_TEST_HEADER = (  # draft 12
    'keyId="Test",algorithm="rsa-sha256",created=1402170695,expires=1402170699,'
    'headers="(request-target) (created) (expires) host date content-type digest '
    'content-length",signature="nAkCW0wg9AbbStQRLi8fsS1mPPnA6S5+/0alANcoDFG9hG0bJ8NnMR'
    "cB1Sz1eccNMzzLEke7nGXqoiJYZFfT81oaRqh/MNFwQVX4OZvTLZ5xVZQuchRkOSO7b2QX0aFWFOUq6dnwAyliHr"
    'p6w3FOxwkGGJPaerw2lOYLdC/Bejk="'
)
ALL_HEADERS_TEST_STRING = (
    "(request-target): post /foo?param=value&pet=dog\n"
    "(created): 1402170695\n"
    "(expires): 1402170699\n"
    "host: example.com\n"
    "date: Sun, 05 Jan 2014 21:31:40 GMT\n"
    "content-type: application/json\n"
    "digest: SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\n"
    "content-length: 18"
)
ALL_HEADERS_DRAFT10_SIGNATURE = (
    "vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52"
    "LaEUHFv120V01IL+TAD48XaERZFukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE="
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
INBOX_URL = "https://remote.example/users/bob/inbox"
INBOX_PATH = "/users/bob/inbox"
KEY_ID = "https://city.example/actor#main-key"
ACTIVITY = b'{"type": "Create", "object": {"type": "Note", "content": "hello"}}'


@pytest.fixture(scope="module")
def cavage_key() -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(CAVAGE_PRIVATE_PEM, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _received(sent: Mapping[str, str], **extra: str) -> dict[str, str]:
    """What the inbox sees: the signed headers plus whatever the HTTP client added."""
    return {"User-Agent": "Mastodon/4.3", "Accept-Encoding": "gzip", **sent, **extra}


def _manual_signature(
    key: rsa.RSAPrivateKey,
    covered: tuple[str, ...],
    method: str,
    target: str,
    headers: Mapping[str, str],
    algorithm: str = "rsa-sha256",
    created: int | None = None,
    expires: int | None = None,
) -> CavageSignature:
    string = signing_string(covered, method, target, headers, created=created, expires=expires)
    return CavageSignature(
        key_id=KEY_ID,
        algorithm=algorithm,
        headers=covered,
        signature=sign_string(string, key),
        created=created,
        expires=expires,
    )


# --- Appendix C vectors -------------------------------------------------------------------


def test_c1_default_test(cavage_key: rsa.RSAPrivateKey) -> None:
    sig = parse_signature_header(DEFAULT_TEST_HEADER)
    assert sig.key_id == "Test" and sig.algorithm == "rsa-sha256"
    assert sig.headers == ("date",)  # the draft's default when headers is absent
    string = signing_string(sig.headers, "POST", CAVAGE_TARGET, CAVAGE_HEADERS)
    assert string == "date: Sun, 05 Jan 2014 21:31:40 GMT"
    assert sign_string(string, cavage_key) == sig.signature
    verify_signature(sig, string, load_public_key_pem(CAVAGE_PUBLIC_PEM))
    # Cryptographically fine, but our policy wants (request-target) and host covered.
    with pytest.raises(SignatureError, match=r"\(request-target\)"):
        verify_request(
            sig,
            "POST",
            CAVAGE_TARGET,
            CAVAGE_HEADERS,
            load_public_key_pem(CAVAGE_PUBLIC_PEM),
            body=CAVAGE_BODY,
            now=CAVAGE_DATE,
        )


def test_c2_basic_test(cavage_key: rsa.RSAPrivateKey) -> None:
    # Our signer covers exactly "(request-target) host date" for a body-less request, so it
    # must reproduce the draft's header byte for byte.
    out = sign_request("POST", CAVAGE_URL, cavage_key, "Test", now=CAVAGE_DATE)
    assert out == {
        "Host": "example.com",
        "Date": "Sun, 05 Jan 2014 21:31:40 GMT",
        "Signature": BASIC_TEST_HEADER,
    }
    sig = parse_signature_header(BASIC_TEST_HEADER)
    public = load_public_key_pem(CAVAGE_PUBLIC_PEM)
    string = signing_string(sig.headers, "POST", CAVAGE_TARGET, CAVAGE_HEADERS)
    assert string == (
        "(request-target): post /foo?param=value&pet=dog\n"
        "host: example.com\n"
        "date: Sun, 05 Jan 2014 21:31:40 GMT"
    )
    verify_signature(sig, string, public)
    # The example request has a body the signature does not cover: Mastodon's rule refuses.
    with pytest.raises(SignatureError, match="digest"):
        verify_request(
            sig, "POST", CAVAGE_TARGET, CAVAGE_HEADERS, public, body=CAVAGE_BODY, now=CAVAGE_DATE
        )


def test_c3_all_headers_test(cavage_key: rsa.RSAPrivateKey) -> None:
    sig = parse_signature_header(ALL_HEADERS_TEST_HEADER)
    assert (sig.created, sig.expires) == (1402170695, 1402170699)
    string = signing_string(
        sig.headers,
        "POST",
        CAVAGE_TARGET,
        CAVAGE_HEADERS,
        created=sig.created,
        expires=sig.expires,
    )
    assert string == ALL_HEADERS_TEST_STRING
    assert sign_string(string, cavage_key) == sig.signature
    public = load_public_key_pem(CAVAGE_PUBLIC_PEM)
    # The example's created is five months after its Date, so no single "now" is within an
    # hour of both: verify at created time with a window wide enough to span them.
    verify_request(
        sig,
        "POST",
        CAVAGE_TARGET,
        CAVAGE_HEADERS,
        public,
        body=CAVAGE_BODY,
        now=datetime.fromtimestamp(1402170697, UTC),
        max_skew=200 * 86400,
    )
    with pytest.raises(SignatureError, match="future"):
        verify_request(
            sig, "POST", CAVAGE_TARGET, CAVAGE_HEADERS, public, body=CAVAGE_BODY, now=CAVAGE_DATE
        )
    with pytest.raises(SignatureError, match="expired"):
        verify_request(
            sig,
            "POST",
            CAVAGE_TARGET,
            CAVAGE_HEADERS,
            public,
            body=CAVAGE_BODY,
            now=datetime.fromtimestamp(1402170700, UTC),
            max_skew=200 * 86400,
        )


def test_c3_all_headers_test_draft10(cavage_key: rsa.RSAPrivateKey) -> None:
    covered = ("(request-target)", "host", "date", "content-type", "digest", "content-length")
    string = signing_string(covered, "POST", CAVAGE_TARGET, CAVAGE_HEADERS)
    assert sign_string(string, cavage_key) == base64.b64decode(ALL_HEADERS_DRAFT10_SIGNATURE)
    sig = parse_authorization_header(
        f'Signature keyId="Test",algorithm="rsa-sha256",headers="{" ".join(covered)}",'
        f'signature="{ALL_HEADERS_DRAFT10_SIGNATURE}"'
    )
    verify_request(
        sig,
        "POST",
        CAVAGE_TARGET,
        CAVAGE_HEADERS,
        load_public_key_pem(CAVAGE_PUBLIC_PEM),
        body=CAVAGE_BODY,
        now=CAVAGE_DATE,
    )


# --- Interop shapes -------------------------------------------------------------------------


@pytest.mark.parametrize("key_name", ["rsa_key", "ed_key"])
def test_mastodon_shaped_post_round_trip(key_name: str, request: pytest.FixtureRequest) -> None:
    key = request.getfixturevalue(key_name)
    sent = sign_request(
        "POST",
        INBOX_URL,
        key,
        KEY_ID,
        body=ACTIVITY,
        headers={"content-type": "application/activity+json"},
        now=NOW,
    )
    assert set(sent) == {"Host", "Date", "Digest", "Content-Type", "Signature"}
    assert sent["Host"] == "remote.example"
    assert sent["Date"] == "Wed, 01 May 2024 12:00:00 GMT"
    assert sent["Digest"] == digest_header(ACTIVITY)
    sig = parse_signature_header(sent["Signature"])
    assert sig.key_id == KEY_ID
    assert sig.algorithm == ("rsa-sha256" if key_name == "rsa_key" else "hs2019")
    assert sig.headers == ("(request-target)", "host", "date", "digest", "content-type")
    verify_request(
        sig,
        "POST",
        INBOX_PATH,
        _received(sent, **{"Content-Length": str(len(ACTIVITY))}),
        key.public_key(),
        body=ACTIVITY,
        now=NOW + timedelta(seconds=2),
    )


def test_get_round_trip_for_authorized_fetch(rsa_key: rsa.RSAPrivateKey) -> None:
    sent = sign_request("GET", "https://remote.example/users/bob?page=2", rsa_key, KEY_ID, now=NOW)
    sig = parse_signature_header(sent["Signature"])
    assert sig.headers == ("(request-target)", "host", "date")
    verify_request(
        sig,
        "GET",
        "/users/bob?page=2",
        _received(sent),
        rsa_key.public_key(),
        body=None,
        now=NOW,
    )


def test_misskey_style_signature_without_query(rsa_key: rsa.RSAPrivateKey) -> None:
    # Misskey signs (request-target) without the query string of the URL it requests.
    sent = sign_request("GET", "https://remote.example/notes/1", rsa_key, KEY_ID, now=NOW)
    sig = parse_signature_header(sent["Signature"])
    public = rsa_key.public_key()
    verify_request(sig, "GET", "/notes/1?fields=all", _received(sent), public, body=None, now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request(
            sig, "GET", "/notes/2?fields=all", _received(sent), public, body=None, now=NOW
        )


def test_query_signed_then_changed_fails(rsa_key: rsa.RSAPrivateKey) -> None:
    sent = sign_request("GET", "https://remote.example/notes?page=1", rsa_key, KEY_ID, now=NOW)
    sig = parse_signature_header(sent["Signature"])
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request(
            sig,
            "GET",
            "/notes?page=2",
            _received(sent),
            rsa_key.public_key(),
            body=None,
            now=NOW,
        )


def test_header_names_are_case_insensitive(rsa_key: rsa.RSAPrivateKey) -> None:
    sent = sign_request("POST", INBOX_URL, rsa_key, KEY_ID, body=ACTIVITY, now=NOW)
    shouty = {name.upper(): value for name, value in sent.items()}
    sig = parse_signature_header(sent["Signature"])
    verify_request(sig, "POST", INBOX_PATH, shouty, rsa_key.public_key(), body=ACTIVITY, now=NOW)


class _MultiDict(Mapping[str, str]):
    """Stands in for aiohttp's CIMultiDictProxy: ``items()`` yields repeated names."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs

    def __getitem__(self, key: str) -> str:
        for name, value in self._pairs:
            if name.lower() == key.lower():
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._pairs)

    def __len__(self) -> int:
        return len(self._pairs)

    def items(self):  # type: ignore[override]
        return list(self._pairs)


def test_repeated_headers_are_joined() -> None:
    headers = _MultiDict([("Host", "a.example"), ("X-Thing", "one"), ("x-thing", "two")])
    assert signing_string(("host", "x-thing"), "GET", "/", headers) == (
        "host: a.example\nx-thing: one, two"
    )


def test_signing_string_pseudo_headers() -> None:
    assert signing_string(("(request-target)",), "DELETE", "/a?b", {}) == (
        "(request-target): delete /a?b"
    )
    with pytest.raises(SignatureError, match=r"\(created\)"):
        signing_string(("(created)",), "GET", "/", {})
    with pytest.raises(SignatureError, match=r"\(expires\)"):
        signing_string(("(expires)",), "GET", "/", {})
    with pytest.raises(SignatureError, match="'x-missing'"):
        signing_string(("x-missing",), "GET", "/", {"Host": "h"})


# --- Verification policy --------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_post(rsa_key: rsa.RSAPrivateKey) -> tuple[CavageSignature, dict[str, str]]:
    sent = sign_request(
        "POST",
        INBOX_URL,
        rsa_key,
        KEY_ID,
        body=ACTIVITY,
        headers={"Content-Type": "application/activity+json"},
        now=NOW,
    )
    return parse_signature_header(sent["Signature"]), _received(sent)


@pytest.mark.parametrize("offset", [-3600, -60, 0, 60, 3600])
def test_date_within_skew_is_accepted(
    offset: int, signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    now = NOW + timedelta(seconds=offset)
    verify_request(sig, "POST", INBOX_PATH, headers, rsa_key.public_key(), body=ACTIVITY, now=now)


@pytest.mark.parametrize("offset", [-3601, 3601, 86400])
def test_stale_or_future_date_is_rejected(
    offset: int, signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    now = NOW + timedelta(seconds=offset)
    with pytest.raises(SignatureError, match="Date header is too far"):
        verify_request(
            sig, "POST", INBOX_PATH, headers, rsa_key.public_key(), body=ACTIVITY, now=now
        )


def test_custom_skew(
    signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    with pytest.raises(SignatureError, match="Date"):
        verify_request(
            sig,
            "POST",
            INBOX_PATH,
            headers,
            rsa_key.public_key(),
            body=ACTIVITY,
            now=NOW + timedelta(seconds=31),
            max_skew=30,
        )


def test_missing_digest_on_post(rsa_key: rsa.RSAPrivateKey) -> None:
    sent = sign_request("POST", INBOX_URL, rsa_key, KEY_ID, now=NOW)  # no body => no digest
    sig = parse_signature_header(sent["Signature"])
    for body in (ACTIVITY, None):
        with pytest.raises(SignatureError, match="does not cover digest"):
            verify_request(
                sig, "POST", INBOX_PATH, _received(sent), rsa_key.public_key(), body=body, now=NOW
            )


def test_digest_covered_but_header_absent(
    signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    headers = {k: v for k, v in headers.items() if k != "Digest"}
    with pytest.raises(SignatureError, match="'digest'"):
        verify_request(
            sig, "POST", INBOX_PATH, headers, rsa_key.public_key(), body=ACTIVITY, now=NOW
        )


def test_digest_mismatch(
    signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    with pytest.raises(SignatureError, match="Digest SHA-256 does not match"):
        verify_request(
            sig, "POST", INBOX_PATH, headers, rsa_key.public_key(), body=ACTIVITY + b" ", now=NOW
        )


def test_covered_header_missing_from_request(
    signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    headers = {k: v for k, v in headers.items() if k != "Content-Type"}
    with pytest.raises(SignatureError, match="'content-type'"):
        verify_request(
            sig, "POST", INBOX_PATH, headers, rsa_key.public_key(), body=ACTIVITY, now=NOW
        )


@pytest.mark.parametrize(
    ("covered", "reason"),
    [
        (("(request-target)", "date", "digest"), "host"),
        (("host", "date", "digest"), r"\(request-target\)"),
        (("(request-target)", "host", "digest"), "neither date nor"),
    ],
)
def test_required_headers_must_be_covered(
    covered: tuple[str, ...],
    reason: str,
    signed_post: tuple[CavageSignature, dict[str, str]],
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    _, headers = signed_post
    sig = _manual_signature(rsa_key, covered, "POST", INBOX_PATH, headers)
    with pytest.raises(SignatureError, match=reason):
        verify_request(
            sig, "POST", INBOX_PATH, headers, rsa_key.public_key(), body=ACTIVITY, now=NOW
        )


def test_created_instead_of_date(
    signed_post: tuple[CavageSignature, dict[str, str]], rsa_key: rsa.RSAPrivateKey
) -> None:
    _, headers = signed_post
    created = int(NOW.timestamp())
    covered = ("(request-target)", "(created)", "(expires)", "host", "digest")
    sig = _manual_signature(
        rsa_key,
        covered,
        "POST",
        INBOX_PATH,
        headers,
        algorithm="hs2019",
        created=created,
        expires=created + 300,
    )
    public = rsa_key.public_key()
    verify_request(sig, "POST", INBOX_PATH, headers, public, body=ACTIVITY, now=NOW)
    later = NOW + timedelta(seconds=301)
    with pytest.raises(SignatureError, match="expired"):
        verify_request(sig, "POST", INBOX_PATH, headers, public, body=ACTIVITY, now=later)
    old = _manual_signature(
        rsa_key,
        ("(request-target)", "(created)", "host", "digest"),
        "POST",
        INBOX_PATH,
        headers,
        algorithm="hs2019",
        created=created - 7200,
    )
    with pytest.raises(SignatureError, match="too old"):
        verify_request(old, "POST", INBOX_PATH, headers, public, body=ACTIVITY, now=NOW)


@pytest.mark.parametrize("algorithm", ["rsa-sha1", "hmac-sha256", "rsa-sha512", "ecdsa-sha256"])
def test_unknown_algorithm(
    algorithm: str,
    signed_post: tuple[CavageSignature, dict[str, str]],
    rsa_key: rsa.RSAPrivateKey,
) -> None:
    _, headers = signed_post
    header = headers["Signature"].replace('algorithm="rsa-sha256"', f'algorithm="{algorithm}"')
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        verify_request(
            parse_signature_header(header),
            "POST",
            INBOX_PATH,
            headers,
            rsa_key.public_key(),
            body=ACTIVITY,
            now=NOW,
        )


def test_algorithm_key_type_mismatch(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    ed_sent = sign_request("GET", INBOX_URL, ed_key, KEY_ID, now=NOW)
    ed_sig = parse_signature_header(ed_sent["Signature"])
    rsa_sent = sign_request("GET", INBOX_URL, rsa_key, KEY_ID, now=NOW)
    rsa_sig = parse_signature_header(rsa_sent["Signature"])
    # rsa-sha256 with an Ed25519 key; "ed25519" with an RSA key; hs2019 with an EC key.
    cases = [
        (rsa_sig, ed_sent, ed_key.public_key(), "needs an RSA key"),
        (
            CavageSignature(KEY_ID, "ed25519", ed_sig.headers, ed_sig.signature),
            ed_sent,
            rsa_key.public_key(),
            "needs an Ed25519 key",
        ),
        (ed_sig, ed_sent, ec.generate_private_key(ec.SECP256R1()).public_key(), "RSA or Ed25519"),
    ]
    for sig, sent, public, reason in cases:
        with pytest.raises(SignatureError, match=reason):
            verify_request(sig, "GET", INBOX_PATH, _received(sent), public, body=None, now=NOW)


def test_explicit_ed25519_and_hs2019_rsa(
    rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    ed_sent = sign_request("GET", INBOX_URL, ed_key, KEY_ID, now=NOW)
    ed_sig = parse_signature_header(ed_sent["Signature"].replace("hs2019", "ed25519"))
    verify_request(
        ed_sig, "GET", INBOX_PATH, _received(ed_sent), ed_key.public_key(), body=None, now=NOW
    )
    # hs2019 with an RSA key is RSASSA-PKCS1-v1_5/SHA-256, as Mastodon produces it.
    rsa_sent = sign_request("GET", INBOX_URL, rsa_key, KEY_ID, now=NOW)
    rsa_sig = parse_signature_header(rsa_sent["Signature"].replace("rsa-sha256", "hs2019"))
    verify_request(
        rsa_sig, "GET", INBOX_PATH, _received(rsa_sent), rsa_key.public_key(), body=None, now=NOW
    )


def test_wrong_key(
    signed_post: tuple[CavageSignature, dict[str, str]], other_rsa_key: rsa.RSAPrivateKey
) -> None:
    sig, headers = signed_post
    with pytest.raises(SignatureError, match="does not verify"):
        verify_request(
            sig, "POST", INBOX_PATH, headers, other_rsa_key.public_key(), body=ACTIVITY, now=NOW
        )


# --- Parsing ---------------------------------------------------------------------------------


def test_parse_defaults_and_leniency() -> None:
    sig = parse_signature_header(' keyid="k" , signature="AAAA",  ')
    assert sig == CavageSignature("k", "hs2019", ("date",), b"\x00\x00\x00")
    sig = parse_signature_header(
        'keyId="k",algorithm="RSA-SHA256",headers="Host  Date",signature="AA=="'
    )
    assert sig.algorithm == "rsa-sha256" and sig.headers == ("host", "date")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "no keyId"),
        ('keyId="k"', "no signature"),
        ('signature="AAAA"', "no keyId"),
        ('keyId="k",signature="!!!"', "base64"),
        ('keyId="k",keyId="j",signature="AAAA"', "duplicate"),
        ('keyId="k" signature="AAAA"', "malformed"),
        ('keyId=k,signature="AAAA"', "malformed"),
        ('keyId="k",signature="AAAA",headers=""', "empty headers"),
        ('keyId="k",signature="AAAA",created="soon"', "not a number"),
        ('keyId="k",signature="AAAA"garbage', "malformed"),
    ],
)
def test_parse_rejects(value: str, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        parse_signature_header(value)


def test_parse_authorization_header() -> None:
    sig = parse_authorization_header(f"Signature {BASIC_TEST_HEADER}")
    assert sig == parse_signature_header(BASIC_TEST_HEADER)
    with pytest.raises(SignatureError, match="Signature scheme"):
        parse_authorization_header("Bearer abc")


def test_load_public_key_pem(ed_key: ed25519.Ed25519PrivateKey) -> None:
    first = load_public_key_pem(CAVAGE_PUBLIC_PEM)
    assert load_public_key_pem(CAVAGE_PUBLIC_PEM) is first  # cached
    ed_pem = (
        ed_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    assert isinstance(load_public_key_pem(ed_pem), ed25519.Ed25519PublicKey)
    with pytest.raises(SignatureError, match="cannot be parsed"):
        load_public_key_pem("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(SignatureError, match="unsupported public key"):
        load_public_key_pem(ec_pem)


# --- Dates and hosts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
)
def test_parse_http_date_formats(value: str) -> None:
    assert parse_http_date(value) == 784111777


@pytest.mark.parametrize("value", ["", "yesterday", "Sun, 06 Foo 1994 08:49:37 GMT"])
def test_parse_http_date_rejects(value: str) -> None:
    with pytest.raises(SignatureError, match="not a valid HTTP date"):
        parse_http_date(value)


def test_format_http_date() -> None:
    assert format_http_date(CAVAGE_DATE) == "Sun, 05 Jan 2014 21:31:40 GMT"
    assert format_http_date(CAVAGE_DATE.replace(tzinfo=None)) == "Sun, 05 Jan 2014 21:31:40 GMT"
    assert parse_http_date(format_http_date()) > 1_700_000_000


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://Example.COM/x", "example.com"),
        ("https://example.com:443/x", "example.com"),
        ("http://example.com:80/x", "example.com"),
        ("http://example.com:8080/x", "example.com:8080"),
        ("https://example.com:80/x", "example.com:80"),
        ("http://[::1]:8080/x", "[::1]:8080"),
        ("https://user@example.com/x", "example.com"),
    ],
)
def test_sign_request_host(url: str, host: str, ed_key: ed25519.Ed25519PrivateKey) -> None:
    assert sign_request("GET", url, ed_key, KEY_ID, now=NOW)["Host"] == host


def test_sign_request_target_and_content_type(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sent = sign_request(
        "GET", "https://example.com", ed_key, KEY_ID, headers={"Content-Type": "x/y"}, now=NOW
    )
    # Passed through, but only covered when there is a body (Mastodon does the same).
    assert sent["Content-Type"] == "x/y"
    sig = parse_signature_header(sent["Signature"])
    assert sig.headers == ("(request-target)", "host", "date")
    verify_request(sig, "GET", "/", _received(sent), ed_key.public_key(), body=None, now=NOW)
    with pytest.raises(ValueError, match="double quote"):
        sign_request("GET", "https://example.com", ed_key, 'a"b', now=NOW)


# --- Properties ------------------------------------------------------------------------------

_SEGMENT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%@!$&'()*+,;=:",
    min_size=1,
    max_size=12,
)
_QUERY = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@/?", min_size=1, max_size=30
)
_paths = st.lists(_SEGMENT, max_size=4).map(lambda segs: "/" + "/".join(segs))
_queries = st.none() | _QUERY

_PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_PROPERTY_SETTINGS
@given(
    body=st.binary(max_size=1024),
    path=_paths,
    query=_queries,
    use_rsa=st.booleans(),
)
def test_property_round_trip(
    body: bytes,
    path: str,
    query: str | None,
    use_rsa: bool,
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    key = rsa_key if use_rsa else ed_key
    target = path + (f"?{query}" if query is not None else "")
    sent = sign_request(
        "POST",
        f"https://remote.example{target}",
        key,
        KEY_ID,
        body=body,
        headers={"Content-Type": "application/activity+json"},
        now=NOW,
    )
    sig = parse_signature_header(sent["Signature"])
    verify_request(sig, "POST", target, _received(sent), key.public_key(), body=body, now=NOW)


@_PROPERTY_SETTINGS
@given(
    body=st.binary(min_size=1, max_size=512),
    path=_paths,
    query=_queries,
    what=st.sampled_from(["host", "date", "digest", "content-type", "body", "method", "path"]),
    data=st.data(),
)
def test_property_tampering_fails(
    body: bytes,
    path: str,
    query: str | None,
    what: str,
    data: st.DataObject,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    target = path + (f"?{query}" if query is not None else "")
    sent = sign_request(
        "POST",
        f"https://remote.example{target}",
        ed_key,
        KEY_ID,
        body=body,
        headers={"Content-Type": "application/activity+json"},
        now=NOW,
    )
    sig = parse_signature_header(sent["Signature"])
    headers = _received(sent)
    method = "POST"
    if what == "host":
        headers["Host"] = data.draw(st.sampled_from(["evil.example", "remote.example:8443"]))
    elif what == "date":
        # Still inside the clock window, so only the signature can catch it.
        shift = data.draw(st.integers(-3000, 3000).filter(bool))
        headers["Date"] = format_http_date(NOW + timedelta(seconds=shift))
    elif what == "digest":
        headers["Digest"] = digest_header(body + b"x")
    elif what == "content-type":
        headers["Content-Type"] += data.draw(st.sampled_from(["; charset=utf-8", "x"]))
    elif what == "body":
        index = data.draw(st.integers(0, len(body) - 1))
        body = (
            body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
        )
        if data.draw(st.booleans()):  # attacker also fixes up the Digest header
            headers["Digest"] = digest_header(body)
    elif what == "method":
        method = data.draw(st.sampled_from(["PUT", "PATCH", "DELETE"]))
    else:
        index = data.draw(st.integers(0, len(path) - 1))
        replacement = data.draw(st.sampled_from("aZ9-_/").filter(lambda c: c != path[index]))
        target = path[:index] + replacement + path[index + 1 :] + target[len(path) :]
    with pytest.raises(SignatureError):
        verify_request(sig, method, target, headers, ed_key.public_key(), body=body, now=NOW)
