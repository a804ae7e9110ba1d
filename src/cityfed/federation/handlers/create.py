"""Create: a followed city publishes a project or challenge (comments come with cooperation)."""

from __future__ import annotations

from typing import Any

from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.handlers import objects
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
    found = objects.read(ctx)
    if found is None:
        raise Ignore("Create of an object type we do not keep")
    await objects.create(ctx, *found)


HANDLER = Handler(apply=apply, prepare=prepare)
