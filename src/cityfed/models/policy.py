"""Peer policy as the hot path needs it: an in-memory view of the ``peers`` table (§7).

The inbox consults it on every request, so it must not cost a query; the view is reloaded after
every local change and every few seconds (other processes may change policy too).

A policy on a domain covers its subdomains, the most specific one deciding, as Mastodon's
``DomainBlock.rule_for`` does: ``sub.evil.example`` is blocked by a block on ``evil.example`` unless
``sub.evil.example`` has a policy of its own. A port is part of the domain (§7: ``host:8081`` and
``host:8082`` are two peers), so a policy on ``evil.example:8443`` covers ``a.evil.example:8443``.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from cityfed.activitypub.actor import normal_host
from cityfed.models.db import Database
from cityfed.models.tables import NodeSetting, Peer

RELOAD_SECONDS = 5.0


@dataclass
class PolicyView:
    default_mode: str = "open"
    mode: str = "open"
    policies: dict[str, str] = field(default_factory=dict)
    # Domains whose deliveries are held (federation/availability.py): the inbox ends the hold
    # when one of them sends us something.
    unavailable: set[str] = field(default_factory=set)
    loaded_at: float = 0.0
    # The reload in flight: every request that finds the view stale awaits this one instead of
    # starting its own. Without it, each of the ~50 requests in flight when the view went stale
    # ran the same query (a session and an ORM select each), every RELOAD_SECONDS.
    _reload: asyncio.Future[None] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _started: int = field(default=0, init=False, repr=False, compare=False)  # reloads begun

    def policy(self, domain: str) -> str | None:
        return policy_of(self.policies, domain)

    def is_blocked(self, domain: str) -> bool:
        return self.policy(domain) == "blocked"

    def is_trusted(self, domain: str) -> bool:
        return self.policy(domain) == "trusted"

    def may_write(self, domain: str) -> bool:
        """May this domain follow, comment, adopt or offer? (allowlist mode: only known peers)."""
        policy = self.policy(domain)
        if policy == "blocked":
            return False
        return self.mode == "open" or policy in {"trusted", "allowed"}

    def stale(self) -> bool:
        """Due for a reload (checked first on the hot path, so it costs no coroutine)."""
        return time.monotonic() - self.loaded_at >= RELOAD_SECONDS

    async def refresh(self, db: Database, *, force: bool = False) -> PolicyView:
        if not force and not self.stale():
            return self
        reload = self._reload
        if reload is None or reload.done() or force:
            # A forced reload (after a local change) starts its own: one already in flight may
            # have read the table before the change.
            reload = self._reload = asyncio.ensure_future(self._load(db))
        # Shielded: one waiter giving up (its client went away) does not cancel the others'.
        await asyncio.shield(reload)
        return self

    async def _load(self, db: Database) -> None:
        self._started += 1
        started = self._started
        async with db.session() as session:
            rows = await session.execute(
                select(Peer.domain, Peer.policy, Peer.unavailable_since).where(
                    or_(Peer.policy.is_not(None), Peer.unavailable_since.is_not(None))
                )
            )
            policies, unavailable = {}, set()
            for domain, policy, unavailable_since in rows:
                if policy is not None:
                    policies[covering(domain)[0]] = policy
                if unavailable_since is not None:
                    unavailable.add(covering(domain)[0])
            setting = await session.get(NodeSetting, "federation_mode")
        if started != self._started:
            return  # a later reload (forced after a change) began meanwhile: its view wins
        self.policies = policies
        self.unavailable = unavailable
        self.mode = str(setting.value.get("mode")) if setting else self.default_mode
        self.loaded_at = time.monotonic()


def policy_of(policies: Mapping[str, str | None], domain: str) -> str | None:
    """The policy in force for ``domain``: that of the most specific domain covering it."""
    if not policies:  # the common case of a node without policies costs nothing more
        return None
    for key in covering(domain):
        found = policies.get(key)
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=8192)
def covering(domain: str) -> tuple[str, ...]:
    """The policy keys that cover ``domain`` (``host[:port]``), most specific first.

    The first is ``domain`` itself, normalised; then its parent domains with the same port. An IP
    address has no parents. Cached: the inbox asks this of the same few senders all day.
    """
    host, port = domain.strip(), ""
    if host.startswith("["):  # an IPv6 literal, perhaps with a port
        end = host.find("]")
        if end > 0:
            host, port = host[: end + 1], host[end + 1 :]
        return (host.lower() + port,)
    if ":" in host:
        host, _, rest = host.rpartition(":")
        port = ":" + rest
    host = normal_host(host)
    labels = host.split(".")
    if labels[-1].isdigit():  # an IPv4 address (no top-level domain is a number)
        return (host + port,)
    return tuple(".".join(labels[i:]) + port for i in range(len(labels)))
