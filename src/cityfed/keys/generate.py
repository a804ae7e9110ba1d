"""Generate and (de)serialise the key pairs a local actor signs with."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes


@dataclass(frozen=True, slots=True)
class KeyPairPem:
    kind: str  # "rsa" (HTTP and LD signatures) or "ed25519" (object integrity proofs)
    private_pem: str
    public_pem: str


def _pems(private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, kind: str) -> KeyPairPem:
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return KeyPairPem(kind, private_pem, public_pem)


def generate_rsa() -> KeyPairPem:
    return _pems(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa")


def generate_ed25519() -> KeyPairPem:
    return _pems(ed25519.Ed25519PrivateKey.generate(), "ed25519")


def load_private_pem(pem: str) -> PrivateKeyTypes:
    # Loading an RSA key runs its (slow) consistency checks; callers load once per process.
    return serialization.load_pem_private_key(pem.encode(), password=None)


@lru_cache(maxsize=8192)
def load_public_pem(pem: str) -> PublicKeyTypes:
    return serialization.load_pem_public_key(pem.encode())
