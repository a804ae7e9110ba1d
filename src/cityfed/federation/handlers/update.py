"""Update: of the sender itself (profile, keys) or of one of its projects and challenges."""

from __future__ import annotations

from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.handlers import actor_update, objects
from cityfed.federation.handlers.base import Context, Handler, Ignore


async def apply(ctx: Context) -> None:
    if id_of(ctx.activity.get("object")) == ctx.sender.ap_id:
        await actor_update.update(ctx)
        return
    found = objects.read(ctx)
    if found is None:
        raise Ignore("Update of an object type we do not keep")
    await objects.update(ctx, *found)


HANDLER = Handler(apply=apply)
