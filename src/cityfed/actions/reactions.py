"""Our city likes (favourites) and boosts a partner's project, challenge or comment, and takes
it back (§5 Like / Announce, issue 17.5).

Each change is the reaction row and its signed activity in one transaction (§3): ``Like`` goes to
the object's owner, who counts it; ``Announce`` is public and goes to our followers and the owner;
``Undo`` carries the original activity, so the owner can find what to remove. Our own reactions
live in the same table as partners' reactions to our objects (one row per actor, object, kind),
so counts and "did we like it" come from one place.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.timefmt import format_datetime
from cityfed.federation import outbox
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.reactions")

ACTIVITY_TYPES = {ReactionKind.LIKE: "Like", ReactionKind.ANNOUNCE: "Announce"}


class ReactionError(ValueError):
    """The reaction cannot be made; the message says why."""


async def _target(session: Any, object_ap_id: str) -> tuple[Object, Actor]:
    row = await object_queries.by_ap_id(session, object_ap_id)
    if row is None or row.deleted_at is not None:
        raise ReactionError("object: no such post here")
    if row.local:
        raise ReactionError("object: only partners' posts can be liked or boosted")
    owner = await session.get(Actor, row.actor_id)
    assert owner is not None
    return row, owner


def _activity(
    node: Node, kind: ReactionKind, actor: Actor, obj: Object, owner: Actor
) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "id": node.urls.new_activity_id(),
        "type": ACTIVITY_TYPES[kind],
        "actor": actor.ap_id,
        "object": obj.ap_id,
        "published": format_datetime(utcnow()),
    }
    if kind is ReactionKind.ANNOUNCE:
        activity["to"] = [PUBLIC]
        activity["cc"] = [owner.ap_id, *([actor.followers_url] if actor.followers_url else [])]
    else:
        activity["to"] = [owner.ap_id]
    return activity


async def _inboxes(session: Any, kind: ReactionKind, actor: Actor, owner: Actor) -> list[str]:
    inboxes = [owner.inbox or ""]
    if kind is ReactionKind.ANNOUNCE:
        inboxes += await follow_queries.follower_inboxes(session, actor.id)
    return inboxes


async def react(node: Node, actor: Actor, kind: ReactionKind, object_ap_id: str) -> Object:
    """Like or boost; doing it again changes nothing and sends nothing."""
    async with node.db.transaction() as session:
        obj, owner = await _target(session, object_ap_id)
        if node.policy.is_blocked(owner.domain):
            raise ReactionError(f"object: {owner.domain} is blocked")
        if await reaction_queries.find(session, kind, actor.id, obj.id) is not None:
            return obj
        activity = _activity(node, kind, actor, obj, owner)
        await reaction_queries.record(session, kind, activity["id"], actor.id, obj.id)
        await outbox.enqueue(
            session,
            node,
            actor,
            activity,
            await _inboxes(session, kind, actor, owner),
            public=kind is ReactionKind.ANNOUNCE,
        )
    outbox.kick(node)
    log.info("@%s: %s of %s", actor.handle, kind, obj.ap_id)
    return obj


async def undo(node: Node, actor: Actor, kind: ReactionKind, object_ap_id: str) -> Object:
    """Take a like or boost back; without one, nothing changes and nothing is sent."""
    async with node.db.transaction() as session:
        obj, owner = await _target(session, object_ap_id)
        reaction = await reaction_queries.find(session, kind, actor.id, obj.id)
        if reaction is None:
            return obj
        # The owner finds what to remove by the original's id (or actor, type and object).
        original = _activity(node, kind, actor, obj, owner)
        original["id"] = reaction.activity_ap_id
        original.pop("published")
        undo_activity = {
            "id": node.urls.new_activity_id(),
            "type": "Undo",
            "actor": actor.ap_id,
            "object": original,
            "to": original["to"],
            **({"cc": original["cc"]} if "cc" in original else {}),
        }
        inboxes = await _inboxes(session, kind, actor, owner)
        await session.delete(reaction)
        await outbox.enqueue(
            session, node, actor, undo_activity, inboxes, public=kind is ReactionKind.ANNOUNCE
        )
    outbox.kick(node)
    log.info("@%s: %s of %s undone", actor.handle, kind, obj.ap_id)
    return obj
