"""What every activity handler gets, and how it says "nothing to do" or "refuse this"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.models.tables import Actor
from cityfed.node import Node


class Ignore(Exception):
    """The activity is valid but not for us (or already applied): item ends ``done`` with a note."""


class Refuse(Exception):
    """The activity must not be applied: item ends ``failed`` with the reason, no retry."""


@dataclass
class Context:
    node: Node
    session: AsyncSession
    sender: Actor  # the verified remote actor
    recipient: str | None  # local handle when delivered to a personal inbox
    activity: dict[str, Any]
    raw: bytes  # the body exactly as received (for byte-identical forwarding)


Apply = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True)
class Handler:
    """``prepare`` may use the network (fetch an object) before the transaction opens;
    ``apply`` changes models inside it and may enqueue outgoing activities."""

    apply: Apply
    prepare: Callable[[Node, dict[str, Any]], Awaitable[None]] | None = None


async def dereference_object(node: Node, activity: dict[str, Any]) -> None:
    """An activity that names its object by id only (a long object, sent by reference): fetch
    the object from its origin, before the transaction opens."""
    obj = activity.get("object")
    if isinstance(obj, str):
        try:
            activity["object"] = await fetch_object(node, obj)
        except FetchError as exc:
            raise Ignore(f"cannot fetch the object {obj}: {exc}") from None
