"""Peer policy as the hot path needs it: an in-memory view of the ``peers`` table (§7).

The inbox consults it on every request, so it must not cost a query; the view is reloaded after
every local change and every few seconds (other processes may change policy too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import or_, select

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

    def policy(self, domain: str) -> str | None:
        return self.policies.get(domain.lower())

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
        async with db.session() as session:
            rows = await session.execute(
                select(Peer.domain, Peer.policy, Peer.unavailable_since).where(
                    or_(Peer.policy.is_not(None), Peer.unavailable_since.is_not(None))
                )
            )
            policies, unavailable = {}, set()
            for domain, policy, unavailable_since in rows:
                if policy is not None:
                    policies[domain.lower()] = policy
                if unavailable_since is not None:
                    unavailable.add(domain.lower())
            setting = await session.get(NodeSetting, "federation_mode")
        self.policies = policies
        self.unavailable = unavailable
        self.mode = str(setting.value.get("mode")) if setting else self.default_mode
        self.loaded_at = time.monotonic()
        return self
