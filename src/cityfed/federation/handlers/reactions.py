"""Like and Announce (boost) of objects we keep, and their Undo (§5 Like / Announce).

A Like counts only on our own objects; an Announce also on a partner's object we hold a copy of
when the booster is a city one of ours follows (it then shows in that city's timeline as a
boost). Idempotent: the same activity, or a second reaction of one kind by the same actor on the
same object, changes nothing; ``Undo`` by the same actor removes it.
"""

from __future__ import annotations

import logging

from cityfed.activitypub.vocab.common import first_of, id_of
from cityfed.federation.handlers.base import Context, Handler, Ignore, Refuse
from cityfed.federation.notify import notify, title, who
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.notifications import Kind
from cityfed.models.reactions import ReactionKind

log = logging.getLogger("cityfed.handlers.reactions")

KINDS = {"Like": ReactionKind.LIKE, "Announce": ReactionKind.ANNOUNCE}


async def _apply(ctx: Context, kind: ReactionKind) -> None:
    activity_id = id_of(ctx.activity.get("id"))
    object_id = id_of(ctx.activity.get("object"))
    if not activity_id or not object_id:
        raise Refuse(f"{kind} without id or object")
    row = await object_queries.by_ap_id(ctx.session, object_id)
    if row is None or row.deleted_at is not None:
        raise Ignore(f"{kind} of {object_id}, which we do not keep")
    if not row.local:
        if kind is ReactionKind.LIKE:
            raise Ignore(f"like of {object_id}, a partner's object: its owner counts it")
        if not await follow_queries.is_followed(ctx.session, ctx.sender.id):
            raise Ignore(f"boost of a partner's object by {ctx.sender.ap_id}, not followed")
    if await reaction_queries.record(ctx.session, kind, activity_id, ctx.sender.id, row.id):
        log.info("%s of %s by %s recorded", kind, object_id, ctx.sender.ap_id)
        if row.local:
            liked = kind is ReactionKind.LIKE
            verb = "liked" if liked else "boosted"
            await notify(
                ctx.session,
                Kind.LIKE if liked else Kind.BOOST,
                f"{who(ctx.sender)} {verb} {title(row)}",
                actor=ctx.sender,
                obj=row,
            )
    else:
        raise Ignore(f"{kind} of {object_id} by {ctx.sender.ap_id} is known already")


async def like(ctx: Context) -> None:
    await _apply(ctx, ReactionKind.LIKE)


async def announce(ctx: Context) -> None:
    await _apply(ctx, ReactionKind.ANNOUNCE)


async def undo(ctx: Context, undone: object) -> bool:
    """Undo of a Like or Announce; False when ``undone`` is not one we know of (the caller
    then tries the other kinds of Undo)."""
    undone_id = id_of(undone)
    reaction = await reaction_queries.by_activity(ctx.session, undone_id or "")
    if reaction is None and isinstance(undone, dict):
        kind = KINDS.get(first_of(undone.get("type")) or "")
        row = await object_queries.by_ap_id(ctx.session, id_of(undone.get("object")) or "")
        if kind is not None and row is not None:
            reaction = await reaction_queries.find(ctx.session, kind, ctx.sender.id, row.id)
    if reaction is None:
        return False
    if reaction.actor_id != ctx.sender.id:
        raise Refuse(f"only its author may undo {reaction.activity_ap_id}")
    await ctx.session.delete(reaction)
    log.info("%s %s undone by %s", reaction.kind, reaction.activity_ap_id, ctx.sender.ap_id)
    return True


LIKE = Handler(apply=like)
ANNOUNCE = Handler(apply=announce)
