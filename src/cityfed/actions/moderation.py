"""Moderating comments on our threads: hold them, approve (then forward), or remove (hide)."""

from __future__ import annotations

import logging

import orjson

from cityfed.federation import outbox
from cityfed.federation.handlers.comments import is_public, thread_owner
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models import queue as queue_queries
from cityfed.models.states import COMMENT_GRAPH, CommentState
from cityfed.models.tables import Actor, AuditEntry, Object
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.moderation")


class ModerationError(LookupError):
    """The comment cannot be moderated: it does not exist, is not held, or its author is blocked."""


async def set_policy(node: Node, actor: Actor, *, hold: bool, who: str) -> None:
    async with node.db.transaction() as session:
        row = await session.get(Actor, actor.id)
        assert row is not None
        row.moderate_comments = hold
        session.add(
            AuditEntry(
                who=who,
                action="moderation.policy",
                target=actor.ap_id,
                detail={"moderate_comments": hold},
            )
        )


async def decide(
    node: Node, comment_id: str, *, approve: bool, who: str, note: str | None = None
) -> Object:
    """Approve a held comment (it joins the thread and is forwarded) or remove a comment.

    Removal only hides it here and stops our forwarding: the comment belongs to its author's
    server, so a Delete of it is not ours to send.
    """
    async with node.db.transaction() as session:
        row = await object_queries.by_ap_id(session, comment_id)
        if row is None or row.type != "Note" or row.local or row.deleted_at is not None:
            raise ModerationError(comment_id)
        parent = await object_queries.by_ap_id(session, row.in_reply_to or "")
        owner = await thread_owner(session, parent) if parent is not None else None
        author = await actor_queries.actor_by_id(session, row.actor_id)
        if owner is None or author is None:
            raise ModerationError(comment_id)
        if approve and node.policy.is_blocked(author.domain):
            raise ModerationError(f"{comment_id}: its author's domain is blocked")
        was = row.state
        COMMENT_GRAPH.move(row, CommentState.PUBLISHED if approve else CommentState.REMOVED)
        session.add(
            AuditEntry(
                who=who,
                action="comment.approve" if approve else "comment.remove",
                target=comment_id,
                detail={"note": note, "was": was},
            )
        )
        if approve and was == CommentState.HELD:
            item = await queue_queries.inbox_item_of(session, row.activity_ap_id or "")
            if item is not None and item.body:  # an emptied body: purged, nothing to forward
                activity = orjson.loads(item.body)
                if is_public(activity):
                    inboxes = await follow_queries.follower_inboxes(session, owner.id)
                    await outbox.forward(
                        session, node, owner, author, activity, item.body, inboxes, public=True
                    )
    log.info("%s %s comment %s", who, "approved" if approve else "removed", comment_id)
    return row
