"""Login rate limiting: sign-in attempts counted per e-mail address and per client address,
and password hashing bounded (``HASHING``, see actions/password_hashing.py).

An attempt is counted when it arrives, before its password is hashed, in one step with the check
(no await in between): counted after the hash, 60 concurrent guesses all passed the check while
the first ones were still hashing, and one of them found the password. A right password takes
its attempt back.

Kept in memory, per process: enough for the one-process default (§1). With several web processes
behind a load balancer each counts on its own, so an attacker gets at most the limit times the
number of processes; a shared counter (a table, or the proxy's own limiter) would close that gap.
The client address is the TCP peer: behind a reverse proxy that is the proxy, so configure the
proxy's own rate limit too (X-Forwarded-For is not trusted here, anyone can send it).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from cityfed.actions.password_hashing import HashingGate


@dataclass
class LoginLimiter:
    """At most ``per_email`` attempts per address and ``per_client`` per IP in ``window`` s
    (a successful one is taken back)."""

    per_email: int = 5
    per_client: int = 20  # an office behind one NAT address shares this budget
    window: float = 15 * 60
    max_keys: int = 10_000  # memory bound: the oldest keys are forgotten first
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, email: str, client: str) -> int | None:
        """Seconds until another attempt is allowed, or None when one is allowed now."""
        now = self.clock()
        waits = []
        for key, limit in ((f"e:{email}", self.per_email), (f"c:{client}", self.per_client)):
            times = self._recent(key, now)
            if len(times) >= limit:
                waits.append(times[len(times) - limit] + self.window - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def attempt(self, email: str, client: str) -> int | None:
        """Count an attempt and return None, or return the seconds to wait (nothing counted).

        Synchronous on purpose: the check and the count happen with no await in between, so
        concurrent requests cannot all pass the check before any of them is counted."""
        wait = self.retry_after(email, client)
        if wait is not None:
            return wait
        now = self.clock()
        for key in (f"e:{email}", f"c:{client}"):
            self._failures.setdefault(key, deque()).append(now)
        while len(self._failures) > self.max_keys:
            del self._failures[next(iter(self._failures))]
        return None

    def succeeded(self, email: str, client: str) -> None:
        """A right password clears the address's count and takes back this attempt from the
        client's (only this one: a sprayer who owns one account must not reset its budget)."""
        self._failures.pop(f"e:{email}", None)
        times = self._failures.get(f"c:{client}")
        if times:
            times.pop()


LIMITER: web.AppKey[LoginLimiter] = web.AppKey("staff_login_limiter", LoginLimiter)
HASHING: web.AppKey[HashingGate] = web.AppKey("staff_password_hashing", HashingGate)
