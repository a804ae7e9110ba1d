"""Answering a remote actor's Follow of one of our actors: Accept or Reject, sent in the caller's
transaction.

Both the Follow handler (a policy decision on arrival) and ``actions.follows`` (a person's
decision on a held request) answer follows: they share this and the outbox, not each other.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.federation import outbox
from cityfed.models.states import FOLLOW_GRAPH, FollowState
from cityfed.models.tables import Actor, Follow
from cityfed.node import Node

log = logging.getLogger("cityfed.federation.follow_answer")


def follow_activity(follow: Follow, follower: Actor, followee: Actor) -> dict[str, Any]:
    return {
        "id": follow.activity_ap_id,
        "type": "Follow",
        "actor": follower.ap_id,
        "object": followee.ap_id,
    }


async def answer_follow(
    session: AsyncSession, node: Node, follow: Follow, *, accept: bool, reason: str | None = None
) -> dict[str, Any]:
    """Accept or Reject a remote actor's Follow of one of our actors, and tell them."""
    follower = await session.get(Actor, follow.follower_id)
    followee = await session.get(Actor, follow.followee_id)
    assert follower is not None and followee is not None
    FOLLOW_GRAPH.move(follow, FollowState.ACCEPTED if accept else FollowState.REJECTED)
    answer = {
        "id": node.urls.new_activity_id(),
        "type": "Accept" if accept else "Reject",
        "actor": followee.ap_id,
        "object": follow_activity(follow, follower, followee),
        "to": [follower.ap_id],
    }
    if reason and not accept:
        answer["summary"] = reason
    # Accept goes to the follower's own inbox: that is where Mastodon expects it.
    await outbox.enqueue(session, node, followee, answer, [follower.inbox or ""], public=False)
    if not accept:
        await session.delete(follow)
    log.info(
        "%s follow of @%s by %s",
        "accepted" if accept else "rejected",
        followee.handle,
        follower.ap_id,
    )
    return answer
