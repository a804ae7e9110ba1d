"""Accept / Reject of a Follow we sent: the followed actor answered our city's request.

An answer that matches no follow may answer an adoption or a solution offer we sent (cooperation).
"""

from __future__ import annotations

import logging

from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.handlers import adoptions, offers
from cityfed.federation.handlers.base import Context, Handler, Ignore, Refuse
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models.states import FOLLOW_GRAPH, FollowState
from cityfed.models.tables import Follow

log = logging.getLogger("cityfed.handlers.answer")


async def _our_follow(ctx: Context) -> Follow:
    obj = ctx.activity.get("object")
    follow = None
    follow_id = id_of(obj)
    if follow_id:
        follow = await follow_queries.by_activity(ctx.session, follow_id)
    if follow is None and isinstance(obj, dict):
        # Some servers answer with a re-serialised Follow whose id is not ours: match by actors.
        follower = await actor_queries.actor_by_ap_id(ctx.session, id_of(obj.get("actor")) or "")
        if follower is not None and follower.local and id_of(obj.get("object")) == ctx.sender.ap_id:
            follow = await follow_queries.find(ctx.session, follower.id, ctx.sender.id)
    if follow is None:
        raise Ignore(f"{ctx.activity.get('type')} of a follow we do not know")
    if follow.followee_id != ctx.sender.id:
        raise Refuse("only the followed actor may answer a follow")
    return follow


async def accept(ctx: Context) -> None:
    try:
        follow = await _our_follow(ctx)
    except Ignore:
        if await _cooperation(ctx, accepted=True):
            return
        raise
    FOLLOW_GRAPH.move(follow, FollowState.ACCEPTED)
    log.info("follow %s accepted by %s", follow.activity_ap_id, ctx.sender.ap_id)


async def reject(ctx: Context) -> None:
    try:
        follow = await _our_follow(ctx)
    except Ignore:
        if await _cooperation(ctx, accepted=False):
            return
        raise
    FOLLOW_GRAPH.move(follow, FollowState.REJECTED)
    log.info("follow %s rejected by %s", follow.activity_ap_id, ctx.sender.ap_id)


# --- cooperation: answers to a Create{Adoption} or an Offer we sent ---------------------------


async def _cooperation(ctx: Context, *, accepted: bool) -> bool:
    """Apply the answer if it answers one of our adoptions or offers; False if neither."""
    return await adoptions.on_answer(ctx, accepted=accepted) or await offers.on_answer(
        ctx, accepted=accepted
    )


# --- end cooperation ----------------------------------------------------------------------------


ACCEPT = Handler(apply=accept)
REJECT = Handler(apply=reject)
