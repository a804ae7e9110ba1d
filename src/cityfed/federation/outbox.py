"""Writing outgoing activities: the activity and its deliveries join the caller's transaction (§3).

``enqueue`` serialises the activity once (those bytes are what every inbox receives and what every
signature's digest covers), stores it, and adds one ``deliveries`` row per distinct target inbox.
Nothing is sent here: the change, the activity and its deliveries commit together or not at all,
and the delivery worker picks the rows up afterwards. After the commit the worker is woken at once
(``kick``), so an idle node does not wait for its next poll.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.actor import authority, is_http_url
from cityfed.activitypub.jsonld import DEFAULT_CONTEXT
from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.signing import sign_activity
from cityfed.models import activities as activity_queries
from cityfed.models import deliveries as delivery_queries
from cityfed.models import peers as peer_queries
from cityfed.models.tables import Activity, Actor
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.delivery")

_KICK_ARMED = "cityfed.delivery_kick_armed"


def kick(node: Node) -> None:
    """Wake an idle delivery worker of this process. Call it after the enqueuing commit."""
    node.delivery_wakeup.set()


def _kick_after_commit(session: AsyncSession, node: Node) -> None:
    """Arm one ``kick`` for when ``session``'s transaction commits (not on rollback).

    Callers may still call ``kick`` themselves; this makes forgetting it harmless, e.g. for a
    handler's Accept enqueued inside the inbox worker's transaction.
    """
    if session.info.get(_KICK_ARMED):
        return
    session.info[_KICK_ARMED] = True

    def on_commit(_sync_session: Any) -> None:
        session.info.pop(_KICK_ARMED, None)
        kick(node)

    event.listen(session.sync_session, "after_commit", on_commit, once=True)


def _with_context(activity: dict[str, Any]) -> dict[str, Any]:
    if "@context" in activity:
        return activity
    # @context first: what peers (and humans reading logs) expect to see at the top.
    return {"@context": DEFAULT_CONTEXT, **activity}


def _type_of(activity: dict[str, Any]) -> str:
    kind = activity.get("type")
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    if not isinstance(kind, str) or not kind:
        raise ValueError("an activity needs a type")
    return kind


def _targets(node: Node, inboxes: Iterable[str]) -> dict[str, str]:
    """Distinct usable inboxes, not on our own host, mapped to their domain (host[:port])."""
    own = authority(node.urls.base)
    targets: dict[str, str] = {}
    for inbox in inboxes:
        if not inbox or inbox in targets:
            continue
        if not is_http_url(inbox):
            log.warning("not delivering to %r: not an http(s) URL", inbox)
            continue
        domain = authority(inbox)
        if domain == own:
            continue  # our own actors see the change in the database already
        targets[inbox] = domain
    return targets


def _interleaved(targets: dict[str, str]) -> dict[str, str]:
    """The same targets, ordered round-robin over their domains.

    Rows are leased oldest (lowest id) first, so this order is the order of delivery: a lease
    then spans as many hosts as it can, instead of meeting one host's per-host limit (and its
    per-batch share, beyond which rows are handed back) when it has many personal inboxes.
    """
    by_domain: dict[str, list[str]] = {}
    for inbox, domain in targets.items():
        by_domain.setdefault(domain, []).append(inbox)
    if len(by_domain) < 2:
        return targets
    queues = list(by_domain.values())
    ordered: dict[str, str] = {}
    for rank in range(max(len(queue) for queue in queues)):
        for queue in queues:
            if rank < len(queue):
                ordered[queue[rank]] = targets[queue[rank]]
    return ordered


async def _blocked(session: AsyncSession, domains: Iterable[str]) -> set[str]:
    wanted = set(domains)
    if not wanted:
        return set()
    return await peer_queries.blocked_among(session, wanted)


async def enqueue(
    session: AsyncSession,
    node: Node,
    sender: Actor,
    activity: dict[str, Any],
    inboxes: Iterable[str],
    *,
    public: bool,
) -> Activity:
    """Store ``activity`` (sent by local ``sender``) and one delivery per distinct inbox.

    Inboxes on our own host, on blocked domains, empty or not http(s) are skipped. Pass shared
    inboxes where known (``models.follows.follower_inboxes`` does) so a host gets one copy.
    """
    ap_id = _id_of_activity(activity)
    document = await sign_activity(node, sender, _with_context(activity), public=public)
    row = Activity(
        ap_id=ap_id,
        type=_type_of(document),
        actor_id=sender.id,
        object_ap_id=id_of(document.get("object")),
        local=True,
        public=public,
        body=orjson.dumps(document),
        created_at=utcnow(),
    )
    session.add(row)
    await session.flush()  # the deliveries need its id
    await _add_deliveries(session, node, row, sender, inboxes, skip=set())
    return row


async def forward(
    session: AsyncSession,
    node: Node,
    forwarder: Actor,
    author: Actor,
    activity: dict[str, Any],
    raw: bytes,
    inboxes: Iterable[str],
    *,
    public: bool,
) -> Activity:
    """Queue a received activity for re-delivery byte for byte (AP §7.1.2 inbox forwarding).

    ``raw`` is the body exactly as received (receivers check the author's signature or proof in
    it, so it must not be re-serialised); ``forwarder`` is the local actor that signs the POSTs,
    ``author`` the remote actor of ``activity``. Forwarding the same activity twice adds only
    inboxes it has not been queued for; the author's own host is skipped (it has the original).
    """
    ap_id = _id_of_activity(activity)
    row = await activity_queries.by_ap_id(session, ap_id)
    queued: set[str] = set()
    if row is None:
        row = Activity(
            ap_id=ap_id,
            type=_type_of(activity),
            actor_id=author.id,
            object_ap_id=id_of(activity.get("object")),
            local=False,
            public=public,
            body=raw,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
    else:
        queued = await activity_queries.queued_inboxes(session, row.id)
    await _add_deliveries(
        session, node, row, forwarder, inboxes, skip=queued, skip_domain=authority(author.ap_id)
    )
    return row


def _id_of_activity(activity: dict[str, Any]) -> str:
    ap_id = activity.get("id")
    if not isinstance(ap_id, str) or not ap_id:
        raise ValueError("an activity needs an id")
    return ap_id


async def _add_deliveries(
    session: AsyncSession,
    node: Node,
    activity: Activity,
    sender: Actor,
    inboxes: Iterable[str],
    *,
    skip: set[str],
    skip_domain: str | None = None,
) -> None:
    targets = _interleaved(
        {
            inbox: domain
            for inbox, domain in _targets(node, inboxes).items()
            if inbox not in skip and domain != skip_domain
        }
    )
    blocked = await _blocked(session, targets.values())
    wanted = {inbox: domain for inbox, domain in targets.items() if domain not in blocked}
    queued = await delivery_queries.add(session, activity.id, sender.id, wanted, utcnow())
    if queued:
        _kick_after_commit(session, node)
    skipped = len(targets) - queued
    log.info(
        "queued %s %s from %s for %d inbox(es)%s",
        activity.type,
        activity.ap_id,
        sender.ap_id,
        queued,
        f", {skipped} on blocked domains skipped" if skipped else "",
    )
