"""Setting peer policy and the federation mode (§7), one audited transaction per change.

The API (who = the token's name) and the CLI (who = ``cli:`` + the OS user) both call these. A
block takes effect at once in this process (the policy view is reloaded after the commit); other
processes pick it up within ``policy.RELOAD_SECONDS``, and the delivery worker reads ``peers``
directly, so nothing more is sent to a blocked domain from the moment the block commits.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.actions.errors import ActionError
from cityfed.activitypub.actor import authority
from cityfed.media.storage import forget_with_settings
from cityfed.models import media as media_queries
from cityfed.models import peers as peer_queries
from cityfed.models.deliveries import CANCELLABLE
from cityfed.models.states import DeliveryState
from cityfed.models.tables import Actor, AuditEntry, Delivery, Follow, NodeSetting
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.peers")

POLICIES = ("trusted", "allowed", "blocked")
MODES = ("open", "allowlist")
MODE_SETTING = "federation_mode"
# Verbs of the audit log (and of the CLI): "peer.trust", "peer.allow", "peer.block", "peer.remove".
VERBS = {"trusted": "trust", "allowed": "allow", "blocked": "block", None: "remove"}

_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NOT_IN_A_DOMAIN = frozenset("/@?#\\ \t\r\n")


class PolicyError(ActionError):
    """The change cannot be made; the message says why (shown to the admin as is)."""


@dataclass(frozen=True, slots=True)
class PolicyChange:
    domain: str
    policy: str | None
    previous: str | None
    follows_removed: int = 0
    deliveries_cancelled: int = 0
    media_purged: int = 0  # cached images of the domain, forgotten with the block


def normalize_domain(raw: str) -> str:
    """``host[:port]`` as peer policy keys it: lower case, default port dropped (§7)."""
    text = raw.strip()
    hint = f"{raw!r} is not a domain: give host or host:port, e.g. city.example or 10.0.0.5:8443"
    if "://" in text:
        raise PolicyError(f"{hint} (the host of a URL, not the URL)")
    if not text or _NOT_IN_A_DOMAIN & set(text):
        raise PolicyError(hint)
    if not text.isascii():
        # Actor ids name internationalised hosts in their ASCII (punycode) form.
        try:
            text = text.encode("idna").decode("ascii")
        except UnicodeError:
            raise PolicyError(hint) from None
    try:
        parts = urlsplit("https://" + text)
        host, port = parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number or out of range
        raise PolicyError(hint) from None
    if not host or port == 0 or not _valid_host(host):
        raise PolicyError(hint)
    # authority() is the one normalisation of domains (case, trailing dot, IDNA, default port).
    domain = authority("https://" + text)
    if len(domain) > 255:
        raise PolicyError(hint)
    return domain


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return all(_LABEL.match(label) for label in host.rstrip(".").split("."))


def _check_policy(policy: str | None) -> None:
    if policy is not None and policy not in POLICIES:
        raise PolicyError(f"policy must be one of {', '.join(POLICIES)}")


async def set_policy(
    node: Node, domain: str, policy: str | None, note: str | None, who: str
) -> PolicyChange:
    """Trust, allow or block ``domain`` (``policy=None`` removes its policy), in one transaction.

    Blocking also removes every follow between our actors and that domain's and cancels what is
    still queued for it; the peer is not told (a block is not an activity, §10.6).
    """
    _check_policy(policy)
    domain = normalize_domain(domain)
    if domain == authority(node.urls.base):
        raise PolicyError(f"{domain} is this node's own domain")
    note = note.strip() if note and note.strip() else None
    now = utcnow()
    removed = cancelled = 0
    purged: list[int] = []
    orphan_files: list[str] = []
    async with node.db.transaction() as session:
        peer = await peer_queries.lock(session, domain)
        previous = peer.policy
        if policy is None and previous is None:
            raise PolicyError(f"{domain} has no policy to remove")
        peer.policy, peer.note, peer.updated_by, peer.updated_at = policy, note, who, now
        if policy == "blocked":
            removed, cancelled = await _cut_off(session, domain, now)
            # Its cached images go too (issue 16): we keep nothing of a blocked domain.
            purged = await media_queries.remote_of_domain(session, domain)
            orphan_files = await media_queries.remove_remote(session, purged)
        detail: dict[str, object] = {"note": note, "previous": previous}
        if policy == "blocked":
            detail |= {
                "follows_removed": removed,
                "deliveries_cancelled": cancelled,
                "media_purged": len(purged),
            }
        session.add(
            AuditEntry(
                at=now, who=who, action=f"peer.{VERBS[policy]}", target=domain, detail=detail
            )
        )
    await node.policy.refresh(node.db, force=True)
    # Files only after the commit: a rollback must never leave rows without their files.
    await forget_with_settings(node.settings, orphan_files)
    cut = (
        f": removed {removed} follows, cancelled {cancelled} deliveries,"
        f" purged {len(purged)} cached images"
    )
    log.info(
        "%s set the policy of %s to %s (was %s)%s",
        who,
        domain,
        policy or "none",
        previous or "none",
        cut if policy == "blocked" else "",
    )
    return PolicyChange(domain, policy, previous, removed, cancelled, len(purged))


async def _cut_off(session: AsyncSession, domain: str, now: datetime) -> tuple[int, int]:
    """Forget the follows with the actors of ``domain`` and its subdomains (those it now blocks:
    not those with a policy of their own) and cancel deliveries still due there."""
    await session.flush()  # the new policy, for the queries below to see it
    theirs = select(Actor.id).where(
        peer_queries.covered_by(Actor.domain, domain),
        peer_queries.domain_blocked(Actor.domain),
        Actor.local.is_(False),
    )
    follows = await session.execute(
        delete(Follow)
        .where(or_(Follow.follower_id.in_(theirs), Follow.followee_id.in_(theirs)))
        .execution_options(synchronize_session=False)
    )
    # A row being sent right now loses its lease here, so the worker's record of it does not
    # overwrite the cancellation (it records only rows whose lease it still holds).
    deliveries = await session.execute(
        update(Delivery)
        .where(
            peer_queries.covered_by(Delivery.domain, domain),
            peer_queries.domain_blocked(Delivery.domain),
            Delivery.state.in_(CANCELLABLE),
        )
        .values(
            state=DeliveryState.CANCELLED,
            locked_until=None,
            finished_at=now,
            last_error="domain blocked",
        )
        .execution_options(synchronize_session=False)
    )
    return follows.rowcount or 0, deliveries.rowcount or 0  # type: ignore[attr-defined]


async def federation_mode(node: Node) -> str:
    """The mode in force: the stored setting, else the config file's default."""
    await node.policy.refresh(node.db, force=True)
    return node.policy.mode


async def set_federation_mode(node: Node, mode: str, who: str) -> str:
    """Switch between ``open`` and ``allowlist``; returns the previous mode."""
    if mode not in MODES:
        raise PolicyError(f"mode must be one of {', '.join(MODES)}")
    async with node.db.transaction() as session:
        setting = await session.get(NodeSetting, MODE_SETTING, with_for_update=True)
        previous = str(setting.value.get("mode")) if setting else node.policy.default_mode
        if setting is None:
            session.add(NodeSetting(key=MODE_SETTING, value={"mode": mode}))
        else:
            setting.value = {"mode": mode}
        session.add(
            AuditEntry(
                who=who, action="federation.mode", target=mode, detail={"previous": previous}
            )
        )
    await node.policy.refresh(node.db, force=True)
    log.info("%s set the federation mode to %s (was %s)", who, mode, previous)
    return previous
