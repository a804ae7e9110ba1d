"""Totals that cost a scan (an outbox's size, a timeline's), remembered for a few seconds.

A listing page needs one ``count(*)``, and on a node with many objects that scan costs several
times the page itself on SQLite. Once a total is large it is kept for ``ttl`` seconds
(``totalItems`` of a big collection may lag a few seconds, as Mastodon's cached counts do); a
small total is always counted afresh, so it is exact wherever it is cheap.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable


class CountCache:
    def __init__(self, ttl: float = 10.0, exact_below: int = 1000, capacity: int = 1024) -> None:
        self.ttl = ttl
        self.exact_below = exact_below
        self._capacity = capacity
        self._entries: OrderedDict[Hashable, tuple[float, int]] = OrderedDict()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[int]]) -> int:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        value = await compute()
        if value >= self.exact_below:
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
        else:
            self._entries.pop(key, None)
        return value
