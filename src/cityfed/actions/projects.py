"""Publishing a city's projects and challenges: create, edit, delete (§5 Publish).

Each action writes the object and the activity announcing it (Create / Update / Delete, addressed
to Public with the followers in cc) in one transaction, with one delivery per follower inbox.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson

from cityfed.actions.errors import vocabulary_checks
from cityfed.actions.project_fields import KINDS, TYPE_NAMES, CityObject, Submission
from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.federation import outbox
from cityfed.federation.object_document import tombstone, with_live_collections
from cityfed.media.storage import forget_with_settings
from cityfed.models import follows as follow_queries
from cityfed.models import media as media_queries
from cityfed.models import notify
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.projects")

PATHS = {"project": "projects", "challenge": "challenges"}


class NotFound(LookupError):
    """No such local project or challenge."""


def kind_of(obj: Object) -> str:
    return "project" if obj.type == "Project" else "challenge"


def load(obj: Object) -> CityObject:
    """The vocabulary object stored in a row (our own documents are plain JSON: fast path)."""
    cls = Project if obj.type == "Project" else Challenge
    return cls.from_plain(obj.document)


def _document(node: Node, actor: Actor, item: CityObject) -> dict[str, Any]:
    doc = item.to_ap(tag_url=f"{node.urls.base}/tags/", followers=actor.followers_url)
    doc.pop("@context", None)
    return doc


# Misskey's inbox refuses bodies over 64 KiB. A longer object travels by reference: receivers
# (cityfed, Mastodon, Misskey) fetch it from its id, where it is served whole.
MAX_EMBEDDED_BYTES = 48 * 1024


async def _announce(
    session: AsyncSession, node: Node, actor: Actor, kind: str, obj: dict[str, Any] | str
) -> None:
    if kind != "Delete" and isinstance(obj, dict) and len(orjson.dumps(obj)) > MAX_EMBEDDED_BYTES:
        obj = obj["id"]
    activity = {
        "id": node.urls.new_activity_id(),
        "type": kind,
        "actor": actor.ap_id,
        "published": format_datetime(utcnow()),
        "to": [PUBLIC],
        "cc": [actor.followers_url] if actor.followers_url else [],
        "object": obj,
    }
    inboxes = await follow_queries.follower_inboxes(session, actor.id)
    await outbox.enqueue(session, node, actor, activity, inboxes, public=True)


async def publish(node: Node, actor: Actor, kind: str, submission: Submission) -> Object:
    async with node.db.transaction() as session:
        row = await publish_in(session, node, actor, kind, submission)
    log.info("@%s published %s %s", actor.handle, kind, row.ap_id)
    return row


async def publish_in(
    session: AsyncSession, node: Node, actor: Actor, kind: str, submission: Submission
) -> Object:
    """``publish`` inside the caller's transaction (an adoption creates its project this way)."""
    now = utcnow()
    object_id = node.urls.new_object_id(PATHS[kind])
    values = dict(submission.values)
    with vocabulary_checks():
        item: CityObject = KINDS[kind](
            id=object_id,
            attributed_to=actor.ap_id,
            url=object_id,
            published=now,
            updated=None,
            replies=f"{object_id}/replies",
            **values,
        )
    if isinstance(item, Project):
        item.adoptions = f"{object_id}/adoptions"
    else:
        item.solutions = f"{object_id}/solutions"
    doc = _document(node, actor, item)
    row = Object(
        ap_id=object_id,
        type=TYPE_NAMES[kind],
        actor_id=actor.id,
        local=True,
        document=doc,
        published=now,
        featured=bool(submission.featured),
    )
    session.add(row)
    await session.flush()
    await _announce(session, node, actor, "Create", await with_live_collections(session, row))
    await notify.announce(session, node.events, "update", row.id)
    return row


async def own_object(session: AsyncSession, actor: Actor, ap_id: str) -> Object:
    """One of ``actor``'s live projects or challenges; ``NotFound`` otherwise."""
    return await _own(session, actor, ap_id, None)


async def _own(session: AsyncSession, actor: Actor, ap_id: str, kind: str | None) -> Object:
    row = await object_queries.by_ap_id(session, ap_id)
    if (
        row is None
        or not row.local
        or row.actor_id != actor.id
        or row.deleted_at is not None
        or (kind is not None and kind_of(row) != kind)
    ):
        raise NotFound(ap_id)
    return row


async def edit(
    node: Node, actor: Actor, ap_id: str, submission: Submission, kind: str | None = None
) -> Object:
    async with node.db.transaction() as session:
        row = await edit_in(session, node, actor, ap_id, submission, kind)
    log.info("@%s updated %s", actor.handle, ap_id)
    return row


async def edit_in(
    session: AsyncSession,
    node: Node,
    actor: Actor,
    ap_id: str,
    submission: Submission,
    kind: str | None = None,
) -> Object:
    """``edit`` inside the caller's transaction (accepting a solution edits its challenge)."""
    row = await _own(session, actor, ap_id, kind)
    current = load(row)
    now = utcnow()
    previous = current.updated or current.published or now
    # Receivers ignore an Update that is not newer than their copy: never send an equal time.
    updated = max(now, previous + timedelta(milliseconds=1))
    with vocabulary_checks():
        changed = dataclasses.replace(current, **submission.values, updated=updated)
    doc = _document(node, actor, changed)
    row.document = doc
    row.updated = updated
    if submission.featured is not None:
        row.featured = submission.featured
    await _announce(session, node, actor, "Update", await with_live_collections(session, row))
    await notify.announce(session, node.events, "status.update", row.id)
    return row


async def delete(node: Node, actor: Actor, ap_id: str, kind: str | None = None) -> None:
    async with node.db.transaction() as session:
        row = await _own(session, actor, ap_id, kind)
        row.deleted_at = utcnow()
        row.featured = False
        await _announce(session, node, actor, "Delete", tombstone(row))
        await notify.announce(session, node.events, "delete", row.id)
        # Its pictures and documents go too, unless another object shows them (issue 16).
        orphans = await media_queries.release_object_media(session, row.id)
    await forget_with_settings(node.settings, orphans)
    log.info("@%s deleted %s", actor.handle, ap_id)
