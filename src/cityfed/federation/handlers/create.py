"""Create: a followed city publishes a project or challenge, someone comments, a city adopts."""

from __future__ import annotations

from typing import Any

from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.handlers import adoptions, comments, kinds, objects
from cityfed.federation.handlers.base import Context, Handler, Ignore
from cityfed.node import Node


async def prepare(node: Node, activity: dict[str, Any]) -> None:
    """A Create that names its object by id only: fetch it from its origin first."""
    obj = activity.get("object")
    if isinstance(obj, str):
        try:
            activity["object"] = await fetch_object(node, obj)
        except FetchError as exc:
            raise Ignore(f"cannot fetch the created object: {exc}") from None


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


HANDLER = Handler(apply=apply, prepare=prepare)
