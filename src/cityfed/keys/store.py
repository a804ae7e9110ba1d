"""The private keys of this node's actors, parsed once per process and kept in memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from cityfed.keys.generate import load_private_pem

# The kinds of key we generate and sign with (DESIGN §2: RSA-2048 and Ed25519).
OurPrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def _load(private_pem: str) -> OurPrivateKey:
    key = load_private_pem(private_pem)
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError(f"a stored private key is a {type(key).__name__}, not RSA or Ed25519")
    return key


@dataclass(frozen=True, slots=True)
class SigningKey:
    key_id: str
    kind: str
    private_key: OurPrivateKey


@dataclass
class KeyStore:
    """Maps a local actor's database id to its current signing keys.

    Parsing is the expensive part, so a key is parsed the first time it is asked for and kept; a
    rotation simply replaces the entry (``forget`` then the next lookup reloads).
    """

    _keys: dict[tuple[int, str], SigningKey] = field(default_factory=dict)
    _by_id: dict[str, SigningKey] = field(default_factory=dict)

    def get(self, actor_id: int, kind: str) -> SigningKey | None:
        return self._keys.get((actor_id, kind))

    def put(self, actor_id: int, kind: str, key_id: str, private_pem: str) -> SigningKey:
        current = self._keys.get((actor_id, kind))
        if current is not None and current.key_id == key_id:
            return current
        key = SigningKey(key_id, kind, _load(private_pem))
        self._keys[(actor_id, kind)] = key
        return key

    def by_id(self, key_id: str) -> SigningKey | None:
        return self._by_id.get(key_id)

    def put_by_id(self, key_id: str, kind: str, private_pem: str) -> SigningKey:
        key = SigningKey(key_id, kind, _load(private_pem))
        self._by_id[key_id] = key
        return key

    def forget(self, actor_id: int) -> None:
        for kind in ("rsa", "ed25519"):
            self._keys.pop((actor_id, kind), None)
