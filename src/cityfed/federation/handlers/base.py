"""What every activity handler gets, and how it says "nothing to do" or "refuse this"."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cityfed.activitypub.actor import authority, is_http_url
from cityfed.activitypub.vocab.common import first_of
from cityfed.federation.fetch import fetch_object
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


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
    """``screen`` runs the checks that need no network (may raise Ignore/Refuse) before
    ``prepare``, which may use the network (fetch an object) before the transaction opens;
    ``apply`` changes models inside it and may enqueue outgoing activities."""

    apply: Apply
    prepare: Callable[[Node, dict[str, Any]], Awaitable[None]] | None = None
    screen: Callable[[Node, Actor, dict[str, Any]], Awaitable[None]] | None = None


async def screen_reference(node: Node, sender: Actor, activity: dict[str, Any]) -> None:
    """Before fetching an object sent by reference, what can be told without it (§6).

    Whatever we keep lives on its author's host; a Create of something we have changes nothing;
    and a sender that may not write here (allowlist mode) and that none of our cities follows
    can have nothing applied, whatever the object turns out to be.
    """
    obj = activity.get("object")
    if not isinstance(obj, str) or obj == sender.ap_id:
        return  # embedded (nothing to fetch), or an Update of the sender itself
    if not is_http_url(obj):
        raise Refuse(f"{obj!r} is not an http(s) URL")
    if node.policy.is_blocked(authority(obj)):
        raise Ignore(f"{authority(obj)} is blocked")
    if authority(obj) != sender.domain:
        raise Refuse(f"{obj} is not on its author's host")
    async with node.db.session() as session:
        known = await object_queries.by_ap_id(session, obj)
        followed = await follow_queries.is_followed(session, sender.id)
    if known is not None and first_of(activity.get("type")) == "Create":
        raise Ignore(f"{obj} is known already")
    if known is None and not followed and not node.policy.may_write(sender.domain):
        raise Ignore(f"{sender.ap_id} is not followed here and may not write here")


async def dereference_object(node: Node, activity: dict[str, Any]) -> None:
    """An activity that names its object by id only (a long object, sent by reference): fetch
    the object from its origin, before the transaction opens. A failed fetch (FetchError) goes
    to the worker, which retries a passing failure and gives up on a final one."""
    obj = activity.get("object")
    if isinstance(obj, str):
        activity["object"] = await fetch_object(node, obj)
