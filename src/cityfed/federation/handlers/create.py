"""Create: a followed city publishes a project or challenge, someone comments, a city adopts."""

from __future__ import annotations

from cityfed.federation.handlers import adoptions, comments, kinds, objects
from cityfed.federation.handlers.base import (
    Context,
    Handler,
    Ignore,
    dereference_object,
    screen_reference,
)


async def apply(ctx: Context) -> None:
    kind = kinds.kind_of(ctx.activity.get("object"))
    if kind == kinds.CITY:
        found = objects.read(ctx)
        if found is None:
            raise Ignore("unreadable project or challenge")
        await objects.create(ctx, *found)
    elif kind == kinds.COMMENT:
        await comments.on_create(ctx)
    elif kind == kinds.ADOPTION:
        await adoptions.on_create(ctx)
    else:
        raise Ignore("Create of an object type we do not keep")


HANDLER = Handler(apply=apply, prepare=dereference_object, screen=screen_reference)
