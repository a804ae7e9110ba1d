"""Finding a partner's project or challenge by id, and keeping a copy of one fetched from its host.

``find_city_object`` reads our row for it, else fetches it from its origin (network: call it before
opening a transaction); ``keep_copy`` stores a fetched one like a followed city's copy. Adopting
(``actions/adoptions.py``) and offering a solution (``actions/offers.py``) both use them, and both
refuse with ``Missing`` (404) and ``Conflict`` (409).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cityfed.actions.errors import DOMAIN_BLOCKED, NOT_FOUND
from cityfed.actions.project_fields import KINDS, TYPE_NAMES, CityObject, FieldError
from cityfed.actions.projects import load
from cityfed.activitypub.actor import authority, is_http_url
from cityfed.activitypub.vocab import parse_object
from cityfed.activitypub.vocab.common import read_as_default
from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.remote import ResolveError, get_actor
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class Missing(FieldError):
    """The named thing does not exist (the API answers 404)."""


class Conflict(FieldError):
    """The request repeats something already done (the API answers 409)."""


@dataclass
class Found:
    """A project or challenge, its owner, and (when fetched just now) the copy to keep."""

    item: CityObject
    owner: Actor
    row: Object | None  # our row for it (one of ours, or a partner's copy)
    fetched: dict[str, Any] | None = None  # the plain document, when it came from the network


async def find_city_object(node: Node, ap_id: str, kind: str, name: str) -> Found:
    """A project or challenge by id: from our rows, else fetched from its origin (network; call
    it before opening a transaction). Refusals are FieldErrors naming ``name``."""
    if not isinstance(ap_id, str) or not is_http_url(ap_id):
        raise FieldError(name, f"expected the id (URL) of a {kind}")
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, ap_id)
        owner = await session.get(Actor, row.actor_id) if row is not None else None
    if row is not None and owner is not None:
        if row.deleted_at is not None:
            raise Missing(name, f"that {kind} was deleted")
        if row.type != TYPE_NAMES[kind]:
            raise FieldError(name, f"{ap_id} is not a {kind}")
        return Found(load(row), owner, row)
    if authority(ap_id) == authority(node.urls.base):
        raise Missing(name, NOT_FOUND, what=kind)
    if node.policy.is_blocked(authority(ap_id)):
        raise FieldError(name, DOMAIN_BLOCKED, domain=authority(ap_id))
    try:
        document = await fetch_object(node, ap_id)
    except FetchError as exc:
        if exc.gone:
            raise Missing(name, f"no such {kind} ({exc.reason})") from None
        raise FieldError(name, f"cannot fetch it: {exc.reason}") from None
    try:
        item = parse_object(document)
        plain = read_as_default(document)
    except ValueError as exc:
        raise FieldError(name, f"not a valid {kind}: {exc}") from None
    if not isinstance(item, KINDS[kind]):
        raise FieldError(name, f"{ap_id} is not a {kind}")
    if authority(item.attributed_to) != authority(item.id):
        raise FieldError(name, "its author is on another host than the object")
    try:
        owner = await get_actor(node, item.attributed_to)
    except ResolveError as exc:
        raise FieldError(name, f"cannot find its owner: {exc}") from None
    plain.pop("@context", None)
    return Found(item, owner, None, plain)


async def keep_copy(session: AsyncSession, found: Found) -> None:
    """Store a fetched project/challenge like a followed city's copy (kept up to date by its
    Updates if we follow the owner), unless a copy arrived meanwhile."""
    if found.fetched is None or await object_queries.by_ap_id(session, found.item.id):
        return
    session.add(
        Object(
            ap_id=found.item.id,
            type=type(found.item).__name__,
            actor_id=found.owner.id,
            local=False,
            document=found.fetched,
            published=found.item.published or utcnow(),
            updated=found.item.updated,
        )
    )
    await session.flush()
