"""Create / Update / Delete of projects and challenges by the cities we follow (§5 Publish).

The sender's copy is kept in our default JSON shape (so reading it later never needs pyld). Rules:
an object must live on its author's host and be attributed to the sender; an Update must be newer
than our copy; only the author may delete.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub.actor import authority
from cityfed.activitypub.vocab import Challenge, Project, parse_object
from cityfed.activitypub.vocab.common import former_type, read_as_default
from cityfed.federation.handlers.base import Context, Ignore, Refuse
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Object
from cityfed.models.types import utcnow

log = logging.getLogger("cityfed.handlers.objects")

CityObject = Project | Challenge


def read(ctx: Context) -> tuple[CityObject, dict[str, Any]] | None:
    """The activity's object as a Project/Challenge (and its plain document), None if neither."""
    obj = ctx.activity.get("object")
    if not isinstance(obj, dict):
        return None
    context = ctx.activity.get("@context")
    try:
        parsed = parse_object(obj, context=context)
        plain = read_as_default(obj, context=context) if parsed is not None else None
    except ValueError as exc:
        raise Refuse(f"invalid object: {exc}") from None
    if parsed is None or plain is None:
        return None
    if authority(parsed.id) != ctx.sender.domain or parsed.attributed_to != ctx.sender.ap_id:
        raise Refuse(f"{parsed.id} is not {ctx.sender.ap_id}'s to publish")
    plain.pop("@context", None)
    return parsed, plain


async def create(ctx: Context, parsed: CityObject, plain: dict[str, Any]) -> None:
    if not await follow_queries.is_followed(ctx.session, ctx.sender.id):
        raise Ignore(f"{ctx.sender.ap_id} is not followed by any of our cities")
    existing = await object_queries.by_ap_id(ctx.session, parsed.id)
    if existing is not None:
        raise Ignore(f"{parsed.id} is known already")
    ctx.session.add(
        Object(
            ap_id=parsed.id,
            type=type(parsed).__name__,
            actor_id=ctx.sender.id,
            local=False,
            document=plain,
            published=parsed.published or utcnow(),
            updated=parsed.updated,
        )
    )
    log.info("stored %s %s from %s", type(parsed).__name__, parsed.id, ctx.sender.ap_id)


async def update(ctx: Context, parsed: CityObject, plain: dict[str, Any]) -> None:
    existing = await object_queries.by_ap_id(ctx.session, parsed.id)
    if existing is None:
        await create(ctx, parsed, plain)
        return
    if existing.actor_id != ctx.sender.id:
        raise Refuse(f"{parsed.id} belongs to someone else")
    if existing.deleted_at is not None:
        raise Ignore(f"{parsed.id} was deleted")
    known = existing.updated or existing.published
    if parsed.updated is None or parsed.updated <= known:
        raise Ignore(f"stale Update of {parsed.id} (updated {parsed.updated}, ours {known})")
    existing.document = plain
    existing.updated = parsed.updated
    existing.type = type(parsed).__name__
    log.info("updated %s from %s", parsed.id, ctx.sender.ap_id)


async def delete(ctx: Context, object_id: str) -> Object:
    if authority(object_id) != ctx.sender.domain:
        raise Refuse(f"{ctx.sender.ap_id} cannot delete {object_id}")
    existing = await object_queries.by_ap_id(ctx.session, object_id)
    if existing is None or existing.local:
        raise Ignore(f"Delete of {object_id}, which we do not have")
    if existing.actor_id != ctx.sender.id:
        raise Refuse(f"{object_id} belongs to someone else")
    existing.deleted_at = utcnow()
    # Keep nothing of what the author took back, only the fact that it existed.
    existing.document = {
        "id": object_id,
        "type": "Tombstone",
        "formerType": former_type(existing.type),
    }
    existing.featured = False
    log.info("deleted %s on behalf of %s", object_id, ctx.sender.ap_id)
    return existing
