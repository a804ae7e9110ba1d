"""FEP-521a Multikey encoding of Ed25519 public keys (multibase base58btc, multicodec 0xed01)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_ED25519_PUB = b"\xed\x01"


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = []
    while number:
        number, rem = divmod(number, 58)
        out.append(_ALPHABET[rem])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _INDEX:
            raise ValueError(f"invalid base58 character {char!r}")
        number = number * 58 + _INDEX[char]
    pad = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * pad + body


def encode_ed25519(public_key: ed25519.Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(_ED25519_PUB + raw)


def decode_ed25519(multibase: str) -> ed25519.Ed25519PublicKey:
    if not multibase.startswith("z"):
        raise ValueError("only base58btc ('z') multibase keys are supported")
    data = b58decode(multibase[1:])
    if not data.startswith(_ED25519_PUB) or len(data) != 34:
        raise ValueError("not an Ed25519 multikey")
    return ed25519.Ed25519PublicKey.from_public_bytes(data[2:])
