"""Follow: a remote actor asks to follow one of our cities; Accept at once or hold for approval."""

from __future__ import annotations

import logging

from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.follow_answer import answer_follow
from cityfed.federation.handlers.base import Context, Handler, Ignore
from cityfed.federation.notify import notify, who
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models.notifications import Kind
from cityfed.models.states import FOLLOW_GRAPH, FollowState
from cityfed.models.tables import Follow

log = logging.getLogger("cityfed.handlers.follow")


async def apply(ctx: Context) -> None:
    target_id = id_of(ctx.activity.get("object"))
    if not target_id:
        raise Ignore("Follow without object")
    target = await actor_queries.actor_by_ap_id(ctx.session, target_id)
    if target is None or not target.local or target.type == "Application":
        raise Ignore(f"Follow of {target_id}, which is not one of our cities")
    follow = await follow_queries.find(ctx.session, ctx.sender.id, target.id)
    # A repeated Follow of a follower already accepted is nothing new to tell staff.
    new = follow is None or follow.state != FollowState.ACCEPTED
    if follow is None:
        follow = Follow(
            follower_id=ctx.sender.id,
            followee_id=target.id,
            activity_ap_id=ctx.activity["id"],
            state=FollowState.PENDING,
        )
        ctx.session.add(follow)
    else:
        # A repeated Follow (the sender lost our Accept, or re-follows) gets a fresh answer.
        follow.activity_ap_id = ctx.activity["id"]
    await ctx.session.flush()
    domain = ctx.sender.domain
    policy = ctx.node.policy
    if not policy.may_write(domain):
        await answer_follow(ctx.session, ctx.node, follow, accept=False, reason="federation policy")
        return
    if (
        follow.state == FollowState.ACCEPTED
        or not target.manually_approves_followers
        or policy.is_trusted(domain)
    ):
        await answer_follow(ctx.session, ctx.node, follow, accept=True)
        if new:
            summary = f"{who(ctx.sender)} now follows your city"
            await notify(ctx.session, Kind.FOLLOW, summary, actor=ctx.sender, link=ctx.sender.ap_id)
    else:
        FOLLOW_GRAPH.move(follow, FollowState.PENDING)
        log.info("follow of @%s by %s awaits approval", target.handle, ctx.sender.ap_id)
        summary = f"{who(ctx.sender)} asks to follow your city (approval needed)"
        await notify(
            ctx.session, Kind.FOLLOW_REQUEST, summary, actor=ctx.sender, link=ctx.sender.ap_id
        )


HANDLER = Handler(apply=apply)
