"""Tests for RFC 9421 HTTP Message Signatures: the RFC's Appendix B test vectors, the
signature-base rules, our verification policy, and hypothesis round trip / tamper
properties."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityfed.activitypub.digest import content_digest_header
from cityfed.activitypub.rfc9421 import (
    MessageSignature,
    parse_signatures,
    sign_base,
    sign_request,
    signature_base,
    verify,
    verify_base,
)
from cityfed.activitypub.sigerrors import SignatureError

# --- RFC 9421 Appendix B ------------------------------------------------------------------
# Keys (B.1) and signed requests (B.2) copied from the RFC, with RFC 8792 line wrapping
# undone. Every vector was created at 1618884473.

TEST_KEY_RSA_PUBLIC = b"""-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsPBRrw
WEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsdJKFq
MGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75jfZg
kne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKIlE0P
uKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZSFlQ
PSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQAB
-----END RSA PUBLIC KEY-----
"""

TEST_KEY_RSA_PRIVATE = b"""-----BEGIN RSA PRIVATE KEY-----
MIIEqAIBAAKCAQEAhAKYdtoeoy8zcAcR874L8cnZxKzAGwd7v36APp7Pv6Q2jdsP
BRrwWEBnez6d0UDKDwGbc6nxfEXAy5mbhgajzrw3MOEt8uA5txSKobBpKDeBLOsd
JKFqMGmXCQvEG7YemcxDTRPxAleIAgYYRjTSd/QBwVW9OwNFhekro3RtlinV0a75
jfZgkne/YiktSvLG34lw2zqXBDTC5NHROUqGTlML4PlNZS5Ri2U4aCNx2rUPRcKI
lE0PuKxI4T+HIaFpv8+rdV6eUgOrB2xeI1dSFFn/nnv5OoZJEIB+VmuKn3DCUcCZ
SFlQPSXSfBDiUGhwOw76WuSSsf1D4b/vLoJ10wIDAQABAoIBAG/JZuSWdoVHbi56
vjgCgkjg3lkO1KrO3nrdm6nrgA9P9qaPjxuKoWaKO1cBQlE1pSWp/cKncYgD5WxE
CpAnRUXG2pG4zdkzCYzAh1i+c34L6oZoHsirK6oNcEnHveydfzJL5934egm6p8DW
+m1RQ70yUt4uRc0YSor+q1LGJvGQHReF0WmJBZHrhz5e63Pq7lE0gIwuBqL8SMaA
yRXtK+JGxZpImTq+NHvEWWCu09SCq0r838ceQI55SvzmTkwqtC+8AT2zFviMZkKR
Qo6SPsrqItxZWRty2izawTF0Bf5S2VAx7O+6t3wBsQ1sLptoSgX3QblELY5asI0J
YFz7LJECgYkAsqeUJmqXE3LP8tYoIjMIAKiTm9o6psPlc8CrLI9CH0UbuaA2JCOM
cCNq8SyYbTqgnWlB9ZfcAm/cFpA8tYci9m5vYK8HNxQr+8FS3Qo8N9RJ8d0U5Csw
DzMYfRghAfUGwmlWj5hp1pQzAuhwbOXFtxKHVsMPhz1IBtF9Y8jvgqgYHLbmyiu1
mwJ5AL0pYF0G7x81prlARURwHo0Yf52kEw1dxpx+JXER7hQRWQki5/NsUEtv+8RT
qn2m6qte5DXLyn83b1qRscSdnCCwKtKWUug5q2ZbwVOCJCtmRwmnP131lWRYfj67
B/xJ1ZA6X3GEf4sNReNAtaucPEelgR2nsN0gKQKBiGoqHWbK1qYvBxX2X3kbPDkv
9C+celgZd2PW7aGYLCHq7nPbmfDV0yHcWjOhXZ8jRMjmANVR/eLQ2EfsRLdW69bn
f3ZD7JS1fwGnO3exGmHO3HZG+6AvberKYVYNHahNFEw5TsAcQWDLRpkGybBcxqZo
81YCqlqidwfeO5YtlO7etx1xLyqa2NsCeG9A86UjG+aeNnXEIDk1PDK+EuiThIUa
/2IxKzJKWl1BKr2d4xAfR0ZnEYuRrbeDQYgTImOlfW6/GuYIxKYgEKCFHFqJATAG
IxHrq1PDOiSwXd2GmVVYyEmhZnbcp8CxaEMQoevxAta0ssMK3w6UsDtvUvYvF22m
qQKBiD5GwESzsFPy3Ga0MvZpn3D6EJQLgsnrtUPZx+z2Ep2x0xc5orneB5fGyF1P
WtP+fG5Q6Dpdz3LRfm+KwBCWFKQjg7uTxcjerhBWEYPmEMKYwTJF5PBG9/ddvHLQ
EQeNC8fHGg4UXU8mhHnSBt3EA10qQJfRDs15M38eG2cYwB1PZpDHScDnDA0=
-----END RSA PRIVATE KEY-----
"""

TEST_KEY_RSA_PSS_PUBLIC = b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2
+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+
oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq
gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W
Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4
aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI
2wIDAQAB
-----END PUBLIC KEY-----
"""

TEST_KEY_RSA_PSS_PRIVATE = b"""-----BEGIN PRIVATE KEY-----
MIIEvgIBADALBgkqhkiG9w0BAQoEggSqMIIEpgIBAAKCAQEAr4tmm3r20Wd/Pbqv
P1s2+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry5
3mm+oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7Oyr
FAHqgDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUA
AN5WUtzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw
9lq4aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oy
c6XI2wIDAQABAoIBAQCUB8ip+kJiiZVKF8AqfB/aUP0jTAqOQewK1kKJ/iQCXBCq
pbo360gvdt05H5VZ/RDVkEgO2k73VSsbulqezKs8RFs2tEmU+JgTI9MeQJPWcP6X
aKy6LIYs0E2cWgp8GADgoBs8llBq0UhX0KffglIeek3n7Z6Gt4YFge2TAcW2WbN4
XfK7lupFyo6HHyWRiYHMMARQXLJeOSdTn5aMBP0PO4bQyk5ORxTUSeOciPJUFktQ
HkvGbym7KryEfwH8Tks0L7WhzyP60PL3xS9FNOJi9m+zztwYIXGDQuKM2GDsITeD
2mI2oHoPMyAD0wdI7BwSVW18p1h+jgfc4dlexKYRAoGBAOVfuiEiOchGghV5vn5N
RDNscAFnpHj1QgMr6/UG05RTgmcLfVsI1I4bSkbrIuVKviGGf7atlkROALOG/xRx
DLadgBEeNyHL5lz6ihQaFJLVQ0u3U4SB67J0YtVO3R6lXcIjBDHuY8SjYJ7Ci6Z6
vuDcoaEujnlrtUhaMxvSfcUJAoGBAMPsCHXte1uWNAqYad2WdLjPDlKtQJK1diCm
rqmB2g8QE99hDOHItjDBEdpyFBKOIP+NpVtM2KLhRajjcL9Ph8jrID6XUqikQuVi
4J9FV2m42jXMuioTT13idAILanYg8D3idvy/3isDVkON0X3UAVKrgMEne0hJpkPL
FYqgetvDAoGBAKLQ6JZMbSe0pPIJkSamQhsehgL5Rs51iX4m1z7+sYFAJfhvN3Q/
OGIHDRp6HjMUcxHpHw7U+S1TETxePwKLnLKj6hw8jnX2/nZRgWHzgVcY+sPsReRx
NJVf+Cfh6yOtznfX00p+JWOXdSY8glSSHJwRAMog+hFGW1AYdt7w80XBAoGBAImR
NUugqapgaEA8TrFxkJmngXYaAqpA0iYRA7kv3S4QavPBUGtFJHBNULzitydkNtVZ
3w6hgce0h9YThTo/nKc+OZDZbgfN9s7cQ75x0PQCAO4fx2P91Q+mDzDUVTeG30mE
t2m3S0dGe47JiJxifV9P3wNBNrZGSIF3mrORBVNDAoGBAI0QKn2Iv7Sgo4T/XjND
dl2kZTXqGAk8dOhpUiw/HdM3OGWbhHj2NdCzBliOmPyQtAr770GITWvbAI+IRYyF
S7Fnk6ZVVVHsxjtaHy1uJGFlaZzKR4AGNaUTOJMs6NadzCmGPAxNQQOCqoUjn4XR
rOjr9w349JooGXhOxbu8nOxX
-----END PRIVATE KEY-----
"""

TEST_KEY_ECC_P256_PUBLIC = b"""-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END PUBLIC KEY-----
"""

TEST_KEY_ECC_P256_PRIVATE = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFKbhfNZfpDsW43+0+JjUr9K+bTeuxopu653+hBaXGA7oAoGCCqGSM49
AwEHoUQDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM
4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END EC PRIVATE KEY-----
"""

TEST_KEY_ED25519_PUBLIC = b"""-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=
-----END PUBLIC KEY-----
"""

TEST_KEY_ED25519_PRIVATE = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""

# The "test-request" of Appendix B.2.
METHOD = "POST"
URL = "https://example.com/foo?param=Value&Pet=dog"
BODY = b'{"hello": "world"}'
HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+T"
        "aPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    ),
    "Content-Length": "18",
}
CREATED = 1618884473
AT_CREATED = datetime.fromtimestamp(CREATED, UTC)

# label -> (Signature-Input, Signature, printed signature base)
VECTORS = {
    "B.2.1": (
        'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
        "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopem"
        "LJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG"
        "52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx"
        "2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6"
        "UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3"
        "+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
        '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss"'
        ';nonce="b3k2pp5k7z-50gnwp.yemd"',
    ),
    "B.2.2": (
        'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473'
        ';keyid="test-key-rsa-pss";tag="header-example"',
        "sig-b22=:LjbtqUbfmvjj5C5kr1Ugj4PmLYvx9wVjZvD9GsTT4F7GrcQ"
        "EdJzgI9qHxICagShLRiLMlAJjtq6N4CDfKtjvuJyE5qH7KT8UCMkSowOB4+ECxCmT"
        "8rtAmj/0PIXxi0A0nxKyB09RNrCQibbUjsLS/2YyFYXEu4TRJQzRw1rLEuEfY17SA"
        "RYhpTlaqwZVtR8NV7+4UKkjqpcAoFqWFQh62s7Cl+H2fjBSpqfZUJcsIk4N6wiKYd"
        "4je2U/lankenQ99PZfB4jY3I5rSV2DSBVkSFsURIjYErOs0tFTQosMTAoxk//0RoK"
        "UqiYY8Bh0aaUEb0rQl3/XaVe4bXTugEjHSw==:",
        '"@authority": example.com\n'
        '"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX'
        "+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n"
        '"@query-param";name="Pet": dog\n'
        '"@signature-params": ("@authority" "content-digest" "@query-param";name="Pet")'
        ';created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
    ),
    "B.2.3": (
        'sig-b23=("date" "@method" "@path" "@query" "@authority" "content-type" '
        '"content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
        "sig-b23=:bbN8oArOxYoyylQQUU6QYwrTuaxLwjAC9fbY2F6SVWvh0yB"
        "iMIRGOnMYwZ/5MR6fb0Kh1rIRASVxFkeGt683+qRpRRU5p2voTp768ZrCUb38K0fU"
        "xN0O0iC59DzYx8DFll5GmydPxSmme9v6ULbMFkl+V5B1TP/yPViV7KsLNmvKiLJH1"
        "pFkh/aYA2HXXZzNBXmIkoQoLd7YfW91kE9o/CCoC1xMy7JA1ipwvKvfrs65ldmlu9"
        "bpG6A9BmzhuzF8Eim5f8ui9eH8LZH896+QIF61ka39VBrohr9iyMUJpvRX2Zbhl5Z"
        "JzSRxpJyoEZAFL2FUo5fTIztsDZKEgM4cUA==:",
        '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
        '"@method": POST\n'
        '"@path": /foo\n'
        '"@query": ?param=Value&Pet=dog\n'
        '"@authority": example.com\n'
        '"content-type": application/json\n'
        '"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX'
        "+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:\n"
        '"content-length": 18\n'
        '"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" '
        '"content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"',
    ),
    "B.2.6": (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"',
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1"
        "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
        '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
        '"@method": POST\n'
        '"@path": /foo\n'
        '"@authority": example.com\n'
        '"content-type": application/json\n'
        '"content-length": 18\n'
        '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" '
        '"content-length");created=1618884473;keyid="test-key-ed25519"',
    ),
}

# B.2.4 signs a response (it covers @status, which requests cannot have).
B24_INPUT = (
    'sig-b24=("@status" "content-type" "content-digest" "content-length")'
    ';created=1618884473;keyid="test-key-ecc-p256"'
)
B24_SIGNATURE = (
    "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NK"
    "ocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:"
)
B24_BASE = (
    '"@status": 200\n'
    '"content-type": application/json\n'
    '"content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ4'
    "1QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:\n"
    '"content-length": 23\n'
    '"@signature-params": ("@status" "content-type" "content-digest" '
    '"content-length");created=1618884473;keyid="test-key-ecc-p256"'
)


def _public(pem: bytes) -> Any:  # any of the key types
    return serialization.load_pem_public_key(pem)


def _private(pem: bytes) -> Any:
    return serialization.load_pem_private_key(pem, password=None)


def _parse(name: str) -> MessageSignature:
    signature_input, signature, _ = VECTORS[name]
    (sig,) = parse_signatures(
        {**HEADERS, "Signature-Input": signature_input, "Signature": signature}
    )
    return sig


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


@pytest.mark.parametrize("name", sorted(VECTORS))
def test_signature_base_matches_rfc(name: str) -> None:
    assert signature_base(_parse(name), METHOD, URL, HEADERS) == VECTORS[name][2].encode()


def test_request_content_digest_matches_rfc() -> None:
    assert content_digest_header(BODY, "sha-512") == HEADERS["Content-Digest"]


@pytest.mark.parametrize("name", ["B.2.1", "B.2.2", "B.2.3"])
def test_rsa_pss_vectors_verify(name: str) -> None:
    sig = _parse(name)
    assert sig.key_id == "test-key-rsa-pss" and sig.alg is None
    public = _public(TEST_KEY_RSA_PSS_PUBLIC)
    base = VECTORS[name][2].encode()
    # No alg parameter: the application must know this key is used with rsa-pss-sha512.
    verify_base(sig, base, public, algorithm="rsa-pss-sha512")
    with pytest.raises(SignatureError, match="does not verify"):
        verify_base(sig, base, public)  # inferred rsa-v1_5-sha256 is the wrong algorithm
    with pytest.raises(SignatureError, match="does not verify"):
        verify_base(sig, _flip(base), public, algorithm="rsa-pss-sha512")


def test_b21_minimal_signature_fails_our_policy() -> None:
    sig = _parse("B.2.1")
    assert sig.components == () and sig.params["nonce"] == "b3k2pp5k7z-50gnwp.yemd"
    with pytest.raises(SignatureError, match="@method"):
        verify(
            sig,
            METHOD,
            URL,
            HEADERS,
            _public(TEST_KEY_RSA_PSS_PUBLIC),
            body=BODY,
            now=AT_CREATED,
            algorithm="rsa-pss-sha512",
        )


def test_b22_query_param_and_tag() -> None:
    sig = _parse("B.2.2")
    assert sig.components == ("@authority", "content-digest", "@query-param")
    assert sig.component_params == ({}, {}, {"name": "Pet"})
    assert sig.params["tag"] == "header-example"
    with pytest.raises(SignatureError, match="@method"):
        verify(
            sig,
            METHOD,
            URL,
            HEADERS,
            _public(TEST_KEY_RSA_PSS_PUBLIC),
            body=BODY,
            now=AT_CREATED,
            algorithm="rsa-pss-sha512",
        )


def test_b23_full_coverage_passes_full_verification() -> None:
    sig = _parse("B.2.3")
    public = _public(TEST_KEY_RSA_PSS_PUBLIC)
    verify(sig, METHOD, URL, HEADERS, public, body=BODY, now=AT_CREATED, algorithm="rsa-pss-sha512")
    with pytest.raises(SignatureError, match="too old"):
        verify(sig, METHOD, URL, HEADERS, public, body=BODY, algorithm="rsa-pss-sha512")
    with pytest.raises(SignatureError, match="Content-Digest sha-512 does not match"):
        verify(
            sig,
            METHOD,
            URL,
            HEADERS,
            public,
            body=BODY + b"\n",
            now=AT_CREATED,
            algorithm="rsa-pss-sha512",
        )
    with pytest.raises(SignatureError, match="ed25519 does not fit"):
        verify(sig, METHOD, URL, HEADERS, public, body=BODY, now=AT_CREATED, algorithm="ed25519")


def test_b24_ecdsa_response_vector() -> None:
    (sig,) = parse_signatures({"Signature-Input": B24_INPUT, "Signature": B24_SIGNATURE})
    # Responses are out of scope: the base cannot be rebuilt from a request...
    with pytest.raises(SignatureError, match="@status"):
        signature_base(sig, METHOD, URL, HEADERS)
    # ...but the crypto is checked against the RFC's printed base.
    public = _public(TEST_KEY_ECC_P256_PUBLIC)
    verify_base(sig, B24_BASE.encode(), public)  # ecdsa-p256-sha256 inferred from the key
    verify_base(sig, B24_BASE.encode(), public, algorithm="ecdsa-p256-sha256")
    with pytest.raises(SignatureError, match="does not verify"):
        verify_base(sig, _flip(B24_BASE.encode()), public)
    # ECDSA is randomized, so only a sign -> verify round trip can be checked.
    private = _private(TEST_KEY_ECC_P256_PRIVATE)
    fresh = MessageSignature(
        sig.label,
        sig.components,
        sig.params,
        sig.signature_params,
        sign_base(B24_BASE.encode(), private),
    )
    assert len(fresh.signature) == 64
    verify_base(fresh, B24_BASE.encode(), public)


def test_b26_ed25519_is_reproduced_exactly() -> None:
    sig = _parse("B.2.6")
    base = signature_base(sig, METHOD, URL, HEADERS)
    private = _private(TEST_KEY_ED25519_PRIVATE)
    assert sign_base(base, private) == sig.signature  # Ed25519 is deterministic
    verify_base(sig, base, _public(TEST_KEY_ED25519_PUBLIC))

    # The whole header pair comes out of sign_request when given the same components.
    out = sign_request(
        METHOD,
        URL,
        private,
        "test-key-ed25519",
        headers=HEADERS,
        label="sig-b26",
        created=CREATED,
        components=("date", "@method", "@path", "@authority", "content-type", "content-length"),
        include_alg=False,
    )
    assert out == {"Signature-Input": VECTORS["B.2.6"][0], "Signature": VECTORS["B.2.6"][1]}

    # It is a POST with a body but does not cover content-digest, which our policy needs.
    with pytest.raises(SignatureError, match="content-digest"):
        verify(
            sig, METHOD, URL, HEADERS, _public(TEST_KEY_ED25519_PUBLIC), body=BODY, now=AT_CREATED
        )


def test_b11_rsa_key_round_trip() -> None:
    # test-key-rsa (B.1.1, PKCS#1 PEMs) has no B.2 vector; PKCS#1 v1.5 is deterministic, so
    # signing twice must agree, and the result must verify under our full policy.
    private = _private(TEST_KEY_RSA_PRIVATE)
    first = sign_request(METHOD, URL, private, "test-key-rsa", body=BODY, created=CREATED)
    again = sign_request(METHOD, URL, private, "test-key-rsa", body=BODY, created=CREATED)
    assert first == again
    assert first["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "content-digest");created=1618884473'
        ';keyid="test-key-rsa";alg="rsa-v1_5-sha256"'
    )
    (sig,) = parse_signatures({**HEADERS, **first})
    verify(
        sig,
        METHOD,
        URL,
        {**HEADERS, **first},
        _public(TEST_KEY_RSA_PUBLIC),
        body=BODY,
        now=AT_CREATED,
    )


def test_rsa_pss_private_key_signs() -> None:
    # The B.1.2 private key is PKCS#8 with the RSASSA-PSS OID; it must load and sign.
    private = _private(TEST_KEY_RSA_PSS_PRIVATE)
    sig = _parse("B.2.3")
    base = VECTORS["B.2.3"][2].encode()
    fresh = MessageSignature(
        sig.label,
        sig.components,
        sig.params,
        sig.signature_params,
        sign_base(base, private, "rsa-pss-sha512"),
    )
    verify_base(fresh, base, _public(TEST_KEY_RSA_PSS_PUBLIC), algorithm="rsa-pss-sha512")


# --- Parsing ---------------------------------------------------------------------------------


def test_parse_several_signatures_in_order() -> None:
    headers = {
        "signature-input": f"{VECTORS['B.2.6'][0]}, {VECTORS['B.2.1'][0]}",
        "SIGNATURE": f"{VECTORS['B.2.1'][1]}, {VECTORS['B.2.6'][1]}, other=:AAAA:",
    }
    sigs = parse_signatures(headers)
    assert [s.label for s in sigs] == ["sig-b26", "sig-b21"]
    assert sigs[0].created == CREATED and sigs[0].expires is None


@pytest.mark.parametrize(
    ("signature_input", "signature", "reason"),
    [
        (None, "sig1=:AAAA:", "no Signature-Input"),
        ('sig1=("@method");created=1', None, "no Signature-Input"),
        ("", "sig1=:AAAA:", "empty"),
        ("sig1=1", "sig1=:AAAA:", "not an inner list"),
        ("sig1=(method);created=1", "sig1=:AAAA:", "must be strings"),
        ('sig1=("@method");created=1', "sig2=:AAAA:", "no Signature value"),
        ('sig1=("@method");created=1', 'sig1="AAAA"', "not a byte sequence"),
        ('sig1=("@method");created="1"', "sig1=:AAAA:", "created must be an integer"),
        ('sig1=("@method");created=?1', "sig1=:AAAA:", "created must be an integer"),
        ("sig1=();keyid=token", "sig1=:AAAA:", "keyid must be a string"),
        ('sig1=("@method"', "sig1=:AAAA:", "malformed structured field"),
    ],
)
def test_parse_rejects(signature_input: str | None, signature: str | None, reason: str) -> None:
    headers = {}
    if signature_input is not None:
        headers["Signature-Input"] = signature_input
    if signature is not None:
        headers["Signature"] = signature
    with pytest.raises(SignatureError, match=reason):
        parse_signatures(headers)


# --- Signature base --------------------------------------------------------------------------


def _sig(inner: str) -> MessageSignature:
    (sig,) = parse_signatures({"Signature-Input": f"s={inner};created=1", "Signature": "s=:AA==:"})
    return sig


def _base_lines(inner: str, url: str, headers: dict[str, str] | None = None) -> list[str]:
    base = signature_base(_sig(inner), "GET", url, headers or {}).decode()
    return base.split("\n")[:-1]  # drop the @signature-params line


def test_derived_components() -> None:
    lines = _base_lines(
        '("@method" "@target-uri" "@authority" "@scheme" "@request-target" "@path" "@query")',
        "HTTPS://WWW.Example.com:443/a/b%2Fc?x=1&y=%20",
    )
    assert lines == [
        '"@method": GET',
        '"@target-uri": HTTPS://WWW.Example.com:443/a/b%2Fc?x=1&y=%20',
        '"@authority": www.example.com',
        '"@scheme": https',
        '"@request-target": /a/b%2Fc?x=1&y=%20',
        '"@path": /a/b%2Fc',
        '"@query": ?x=1&y=%20',
    ]


def test_derived_component_edge_cases() -> None:
    assert _base_lines('("@path" "@query" "@authority")', "http://h.example:8080") == [
        '"@path": /',
        '"@query": ?',
        '"@authority": h.example:8080',
    ]


def test_query_param_encoding() -> None:
    # RFC 9421 §2.2.8: values are decoded, then re-encoded with %20 for spaces.
    url = (
        "https://h/p?var=this%20is%20a%20big%0Amultiline%20value&bar=with+plus+whitespace&q=a~b&q=2"
    )
    assert _base_lines(
        '("@query-param";name="var" "@query-param";name="bar" "@query-param";name="q")', url
    ) == [
        '"@query-param";name="var": this%20is%20a%20big%0Amultiline%20value',
        '"@query-param";name="bar": with%20plus%20whitespace',
        '"@query-param";name="q": a%7Eb',
        '"@query-param";name="q": 2',
    ]


def test_header_values_are_trimmed_and_unfolded() -> None:
    headers = {"X-Long": "  a,\r\n   b  ", "x-empty": ""}
    assert _base_lines('("x-long" "x-empty")', "https://h/", headers) == [
        '"x-long": a, b',
        '"x-empty": ',
    ]


@pytest.mark.parametrize(
    ("inner", "reason"),
    [
        ('("@status")', "unsupported derived component @status"),
        ('("@signature-params")', "unsupported derived component"),
        ('("content-type";sf)', "not supported"),
        ('("@method";req)', "not supported"),
        ('("content-type";bs)', "not supported"),
        ('("@query-param")', "string name"),
        ('("@query-param";name="nope")', "'nope' is signed but missing"),
        ('("Content-Type")', "not a lower-case field name"),
        ('("x-missing")', "'x-missing' is signed but missing"),
        ('("@method" "@method")', "covered twice"),
    ],
)
def test_signature_base_rejects(inner: str, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason):
        signature_base(_sig(inner), "GET", "https://h/p?a=1", {"Content-Type": "x"})


# --- Verification policy ---------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
INBOX = "https://remote.example/users/bob/inbox"
KEY_ID = "https://city.example/actor#main-key"
ACTIVITY = b'{"type": "Follow"}'


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def _signed(
    key: Any, method: str = "POST", url: str = INBOX, body: bytes | None = ACTIVITY, **kw: Any
) -> tuple[MessageSignature, dict[str, str]]:
    """Sign a request and return (the parsed signature, the headers the receiver sees)."""
    kw.setdefault("created", NOW_TS)
    out = sign_request(method, url, key, KEY_ID, body=body, **kw)
    headers = {"Host": "remote.example", "Content-Type": "application/activity+json", **out}
    (sig,) = parse_signatures(headers)
    return sig, headers


@pytest.mark.parametrize("key_name", ["rsa_key", "ed_key"])
def test_round_trip(key_name: str, request: pytest.FixtureRequest) -> None:
    key = request.getfixturevalue(key_name)
    sig, headers = _signed(key)
    assert sig.components == ("@method", "@target-uri", "content-digest")
    assert sig.alg == ("rsa-v1_5-sha256" if key_name == "rsa_key" else "ed25519")
    assert sig.key_id == KEY_ID and sig.label == "sig1"
    assert headers["Content-Digest"] == content_digest_header(ACTIVITY)
    verify(sig, "POST", INBOX, headers, key.public_key(), body=ACTIVITY, now=NOW)


def test_get_round_trip_without_content_digest(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sig, headers = _signed(ed_key, "GET", body=None)
    assert sig.components == ("@method", "@target-uri") and "Content-Digest" not in headers
    verify(sig, "GET", INBOX, headers, ed_key.public_key(), body=None, now=NOW)


def test_authority_and_path_instead_of_target_uri(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sig, headers = _signed(ed_key, components=("@method", "@authority", "@path", "content-digest"))
    verify(sig, "POST", INBOX + "?x=1", headers, ed_key.public_key(), body=ACTIVITY, now=NOW)


@pytest.mark.parametrize(
    ("components", "reason"),
    [
        (("@target-uri", "content-digest"), "@method"),
        (("@method", "@authority", "content-digest"), "neither @target-uri"),
        (("@method", "@path", "content-digest"), "neither @target-uri"),
        (("@method", "@target-uri"), "does not cover content-digest"),
    ],
)
def test_required_components(
    components: tuple[str, ...], reason: str, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    sig, headers = _signed(ed_key, components=components)
    with pytest.raises(SignatureError, match=reason):
        verify(sig, "POST", INBOX, headers, ed_key.public_key(), body=ACTIVITY, now=NOW)


def test_post_without_body_still_needs_content_digest(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sig, headers = _signed(ed_key, body=None)
    with pytest.raises(SignatureError, match="content-digest"):
        verify(sig, "POST", INBOX, headers, ed_key.public_key(), body=None, now=NOW)


@pytest.mark.parametrize(
    ("created", "offset", "reason"),
    [
        (NOW_TS, 3601, "too old"),
        (NOW_TS, -3601, "in the future"),
        (NOW_TS, 3600, None),
        (NOW_TS, -3600, None),
    ],
)
def test_created_window(
    created: int, offset: int, reason: str | None, ed_key: ed25519.Ed25519PrivateKey
) -> None:
    sig, headers = _signed(ed_key, created=created)
    now = datetime.fromtimestamp(NOW_TS + offset, UTC)
    if reason is None:
        verify(sig, "POST", INBOX, headers, ed_key.public_key(), body=ACTIVITY, now=now)
    else:
        with pytest.raises(SignatureError, match=reason):
            verify(sig, "POST", INBOX, headers, ed_key.public_key(), body=ACTIVITY, now=now)


def test_missing_created_and_expired(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sig, headers = _signed(ed_key)
    public = ed_key.public_key()
    no_created = MessageSignature(
        sig.label, sig.components, {"keyid": KEY_ID}, sig.signature_params, sig.signature
    )
    with pytest.raises(SignatureError, match="no created"):
        verify(no_created, "POST", INBOX, headers, public, body=ACTIVITY, now=NOW)
    expired = MessageSignature(
        sig.label,
        sig.components,
        {**sig.params, "expires": NOW_TS - 1},
        sig.signature_params,
        sig.signature,
    )
    with pytest.raises(SignatureError, match="expired"):
        verify(expired, "POST", INBOX, headers, public, body=ACTIVITY, now=NOW)


def test_content_digest_problems(ed_key: ed25519.Ed25519PrivateKey) -> None:
    sig, headers = _signed(ed_key)
    public = ed_key.public_key()
    with pytest.raises(SignatureError, match="does not match"):
        verify(sig, "POST", INBOX, headers, public, body=ACTIVITY + b" ", now=NOW)
    missing = {k: v for k, v in headers.items() if k != "Content-Digest"}
    with pytest.raises(SignatureError, match="content-digest"):
        verify(sig, "POST", INBOX, missing, public, body=ACTIVITY, now=NOW)


def test_algorithm_checks(rsa_key: rsa.RSAPrivateKey, ed_key: ed25519.Ed25519PrivateKey) -> None:
    ed_sig, ed_headers = _signed(ed_key)
    rsa_sig, rsa_headers = _signed(rsa_key)
    with pytest.raises(SignatureError, match="does not fit"):
        verify(ed_sig, "POST", INBOX, ed_headers, rsa_key.public_key(), body=ACTIVITY, now=NOW)
    with pytest.raises(SignatureError, match="does not fit"):
        verify(rsa_sig, "POST", INBOX, rsa_headers, ed_key.public_key(), body=ACTIVITY, now=NOW)
    with pytest.raises(SignatureError, match="not the expected rsa-v1_5-sha256"):
        verify(
            ed_sig,
            "POST",
            INBOX,
            ed_headers,
            ed_key.public_key(),
            body=ACTIVITY,
            now=NOW,
            algorithm="rsa-v1_5-sha256",
        )
    hmac = MessageSignature(
        rsa_sig.label,
        rsa_sig.components,
        {**rsa_sig.params, "alg": "hmac-sha256"},
        rsa_sig.signature_params,
        rsa_sig.signature,
    )
    with pytest.raises(SignatureError, match="unsupported signature algorithm"):
        verify(hmac, "POST", INBOX, rsa_headers, rsa_key.public_key(), body=ACTIVITY, now=NOW)
    other = ed25519.Ed25519PrivateKey.generate().public_key()
    with pytest.raises(SignatureError, match="does not verify"):
        verify(ed_sig, "POST", INBOX, ed_headers, other, body=ACTIVITY, now=NOW)
    with pytest.raises(ValueError, match="cannot sign"):
        sign_base(b"x", ec.generate_private_key(ec.SECP384R1()), "ecdsa-p256-sha256")
    with pytest.raises(ValueError, match="cannot sign"):
        sign_base(b"x", ed25519.Ed25519PrivateKey.generate(), "rsa-pss-sha512")
    with pytest.raises(SignatureError, match="unsupported key type"):
        verify_base(
            MessageSignature("s", (), {}, "()", b""),
            b"",
            ec.generate_private_key(ec.SECP384R1()).public_key(),
        )


def test_sign_request_serialization(ed_key: ed25519.Ed25519PrivateKey) -> None:
    out = sign_request("GET", INBOX, ed_key, 'odd "key" \\ id', label="my-sig.1", created=5)
    assert out["Signature-Input"] == (
        'my-sig.1=("@method" "@target-uri");created=5;keyid="odd \\"key\\" \\\\ id";alg="ed25519"'
    )
    assert out["Signature"].startswith("my-sig.1=:") and out["Signature"].endswith(":")
    (sig,) = parse_signatures(out)
    assert sig.key_id == 'odd "key" \\ id'
    verify(
        sig, "GET", INBOX, out, ed_key.public_key(), body=None, now=datetime.fromtimestamp(5, UTC)
    )
    with pytest.raises(ValueError, match="label"):
        sign_request("GET", INBOX, ed_key, KEY_ID, label="Bad Label")


# --- Properties ------------------------------------------------------------------------------

_SEGMENT = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%@!$&'()*+,;=:",
    min_size=1,
    max_size=12,
)
_paths = st.lists(_SEGMENT, max_size=4).map(lambda segs: "/" + "/".join(segs))
_queries = st.none() | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@/?", min_size=1, max_size=30
)
_PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _url(path: str, query: str | None) -> str:
    return "https://remote.example" + path + (f"?{query}" if query is not None else "")


@_PROPERTY_SETTINGS
@given(body=st.binary(max_size=1024), path=_paths, query=_queries, use_rsa=st.booleans())
def test_property_round_trip(
    body: bytes,
    path: str,
    query: str | None,
    use_rsa: bool,
    rsa_key: rsa.RSAPrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    key = rsa_key if use_rsa else ed_key
    url = _url(path, query)
    sig, headers = _signed(key, url=url, body=body)
    verify(sig, "POST", url, headers, key.public_key(), body=body, now=NOW)


@_PROPERTY_SETTINGS
@given(
    body=st.binary(min_size=1, max_size=512),
    path=_paths,
    query=_queries,
    what=st.sampled_from(["content-digest", "body", "method", "path", "host", "query"]),
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
    url = _url(path, query)
    sig, headers = _signed(ed_key, url=url, body=body)
    method = "POST"
    if what == "content-digest":
        headers["Content-Digest"] = content_digest_header(body + b"x", "sha-512")
    elif what == "body":
        index = data.draw(st.integers(0, len(body) - 1))
        body = (
            body[:index] + bytes([body[index] ^ data.draw(st.integers(1, 255))]) + body[index + 1 :]
        )
        if data.draw(st.booleans()):  # attacker also fixes up Content-Digest
            headers["Content-Digest"] = content_digest_header(body)
    elif what == "method":
        method = data.draw(st.sampled_from(["PUT", "PATCH", "post"]))
    elif what == "path":
        index = data.draw(st.integers(0, len(path) - 1))
        replacement = data.draw(st.sampled_from("aZ9-_/").filter(lambda c: c != path[index]))
        url = _url(path[:index] + replacement + path[index + 1 :], query)
    elif what == "host":
        url = url.replace("remote.example", "evil.example", 1)
    else:
        url = _url(path, None if query else "x=1")
    with pytest.raises(SignatureError):
        verify(sig, method, url, headers, ed_key.public_key(), body=body, now=NOW)
