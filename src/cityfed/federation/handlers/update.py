"""Update: of the sender itself (profile, keys) or of its project, challenge, comment, adoption."""

from __future__ import annotations

from cityfed.activitypub.vocab.common import id_of
from cityfed.federation.handlers import actor_update, adoptions, comments, kinds, objects
from cityfed.federation.handlers.base import (
    Context,
    Handler,
    Ignore,
    dereference_object,
    screen_reference,
)


async def apply(ctx: Context) -> None:
    obj = ctx.activity.get("object")
    if id_of(obj) == ctx.sender.ap_id:
        await actor_update.update(ctx)
        return
    kind = kinds.kind_of(obj)
    if kind == kinds.CITY:
        found = objects.read(ctx)
        if found is None:
            raise Ignore("unreadable project or challenge")
        await objects.update(ctx, *found)
    elif kind == kinds.COMMENT:
        await comments.on_update(ctx)
    elif kind == kinds.ADOPTION:
        await adoptions.on_update(ctx)
    else:
        raise Ignore("Update of an object type we do not keep")


HANDLER = Handler(apply=apply, prepare=dereference_object, screen=screen_reference)
