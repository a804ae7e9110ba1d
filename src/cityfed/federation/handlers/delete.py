"""Delete: of the sender itself, or of one of its objects (given by id or as a Tombstone)."""

from __future__ import annotations

from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.handlers import actor_update, comments, objects
from cityfed.federation.handlers.base import Context, Handler, Ignore


async def apply(ctx: Context) -> None:
    object_id = id_of(ctx.activity.get("object"))
    if object_id is None:
        raise Ignore("Delete without object")
    if object_id == ctx.sender.ap_id:
        await actor_update.delete_actor(ctx)
        return
    row = await objects.delete(ctx, object_id)
    await comments.after_delete(ctx, row)


HANDLER = Handler(apply=apply)
