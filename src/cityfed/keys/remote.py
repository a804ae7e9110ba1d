"""A process-wide cache of parsed remote public keys, keyed by key id.

Verifying a signature with a cached key is cheap; parsing a PEM or asking the database costs far
more, so the inbox asks here first. Entries are replaced when a key is refetched (rotation).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RemoteKey:
    key_id: str
    owner: str  # the actor id that lists this key
    public_key: Any  # a cryptography public key object
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


class RemoteKeyCache:
    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, RemoteKey] = OrderedDict()

    def get(self, key_id: str, now: datetime | None = None) -> RemoteKey | None:
        entry = self._entries.get(key_id)
        if entry is not None and now is not None and entry.expired(now):
            del self._entries[key_id]
            return None
        if entry is not None:
            self._entries.move_to_end(key_id)
        return entry

    def put(self, key: RemoteKey) -> None:
        self._entries[key.key_id] = key
        self._entries.move_to_end(key.key_id)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def forget(self, key_id: str) -> None:
        self._entries.pop(key_id, None)

    def forget_owner(self, owner: str) -> None:
        for key_id in [k for k, v in self._entries.items() if v.owner == owner]:
            del self._entries[key_id]
