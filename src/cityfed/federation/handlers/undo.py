"""Undo: a remote actor takes back an earlier activity of its own: a Follow, a Like or an
Announce."""

from __future__ import annotations

import logging

from cityfed.activitypub.vocab.common import first_of, id_of
from cityfed.federation.handlers import reactions
from cityfed.federation.handlers.base import Context, Handler, Ignore, Refuse
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries

log = logging.getLogger("cityfed.handlers.undo")


async def apply(ctx: Context) -> None:
    obj = ctx.activity.get("object")
    undone_id = id_of(obj)
    if undone_id is None:
        raise Ignore("Undo without object")
    if await reactions.undo(ctx, obj):
        return
    follow = await follow_queries.by_activity(ctx.session, undone_id)
    if follow is None and isinstance(obj, dict) and first_of(obj.get("type")) == "Follow":
        target = await actor_queries.actor_by_ap_id(ctx.session, id_of(obj.get("object")) or "")
        if target is not None:
            follow = await follow_queries.find(ctx.session, ctx.sender.id, target.id)
    if follow is None:
        raise Ignore(f"Undo of {undone_id}, which we do not know or do not keep")
    if follow.follower_id != ctx.sender.id:
        raise Refuse("only the follower may undo a follow")
    await ctx.session.delete(follow)
    log.info("follow %s undone by %s", follow.activity_ap_id, ctx.sender.ap_id)


HANDLER = Handler(apply=apply)
