"""Adopting a partner's project (§5 Adopt) and reporting how it goes.

``adopt`` creates our own Project (``cf:isBasedOn`` the origin) and the ``cf:Adoption`` naming
both, and enqueues ``Create{Project}`` to our followers and ``Create{Adoption}`` to the origin city
and our followers, all in one transaction. The origin answers ``Accept`` (see
``federation/handlers/adoptions.py``); ``update`` sends progress as ``Update{Adoption}``.

The origin project is read before the transaction, from our copy or fetched from its host, and the
fetched copy is kept (``actions/city_objects.py``): it names the origin's owner for later updates
and lets the graph (``actions/adoption_graph.py``) show it. What a request may carry is parsed in
``actions/adoption_fields.py``.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from cityfed.actions.adoption_fields import (
    ADOPT_FIELDS,
    ADOPTION,
    PROGRESS_FIELDS,
    parse_progress,
    project_body,
)
from cityfed.actions.city_objects import Conflict, find_city_object, keep_copy
from cityfed.actions.project_fields import FieldError, Submission, parse
from cityfed.actions.projects import NotFound, load, publish_in
from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab import Project
from cityfed.activitypub.vocab.cooperation import Adoption, adoption_card
from cityfed.federation import outbox
from cityfed.federation.object_document import tombstone
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.states import AnswerState
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.adoptions")


# --- the card -----------------------------------------------------------------------------------


def _name(actor: Actor | None, fallback: str) -> str:
    if actor is None:
        return fallback
    return actor.name or f"@{actor.handle}@{actor.domain}"


async def _origin_owner(session: AsyncSession, adoption: Adoption, doc: dict[str, Any]) -> Actor:
    """The adopted project's owner: from our copy of the project, else the actor in ``cc``."""
    copy = await object_queries.by_ap_id(session, adoption.project)
    if copy is not None:
        owner = await session.get(Actor, copy.actor_id)
        if owner is not None:
            return owner
    for ap_id in doc.get("cc") or []:
        found = await actor_queries.actor_by_ap_id(session, ap_id)
        if found is not None and not found.local:
            return found
    raise NotFound(f"the owner of {adoption.project} is unknown")


async def _card(session: AsyncSession, adopter: Actor, owner: Actor, adoption: Adoption) -> str:
    copy = await object_queries.by_ap_id(session, adoption.project)
    project_name, project_url = adoption.project, adoption.project
    if copy is not None and copy.deleted_at is None:
        try:
            origin = load(copy)
            project_name, project_url = origin.name or project_name, origin.url or origin.id
        except ValueError:
            pass  # an unreadable copy still leaves a usable card with the id
    return adoption_card(
        adopter_name=_name(adopter, adopter.ap_id),
        status=adoption.status,
        origin_name=_name(owner, owner.ap_id),
        project_name=project_name,
        project_url=project_url,
        local_project_url=adoption.local_project,
    )


# --- actions ------------------------------------------------------------------------------------


async def _send(
    session: AsyncSession,
    node: Node,
    adopter: Actor,
    owner: Actor,
    kind: str,
    doc: dict[str, Any],
    activity_id: str | None = None,
) -> None:
    """Create/Update/Delete of an Adoption: public, to our followers and the origin city."""
    activity = {
        "id": activity_id or node.urls.new_activity_id(),
        "type": kind,
        "actor": adopter.ap_id,
        "published": format_datetime(utcnow()),
        "to": [PUBLIC],
        "cc": [a for a in (adopter.followers_url, owner.ap_id) if a],
        "object": doc,
    }
    inboxes = await follow_queries.follower_inboxes(session, adopter.id)
    # The shared inbox when it has one: if the origin also follows us, one copy reaches it.
    inboxes.append(owner.shared_inbox or owner.inbox or "")
    await outbox.enqueue(session, node, adopter, activity, inboxes, public=True)


def _document(adopter: Actor, owner: Actor, adoption: Adoption) -> dict[str, Any]:
    doc = adoption.to_ap(followers=adopter.followers_url, origin=owner.ap_id)
    doc.pop("@context", None)
    return doc


async def adopt(
    node: Node, adopter: Actor, project_id: Any, body: dict[str, Any]
) -> tuple[Object, Object]:
    """Adopt a partner's project; returns (the Adoption row, our new project's row)."""
    unknown = sorted(set(body) - ADOPT_FIELDS)
    if unknown:
        raise FieldError(unknown[0], "not a field of an adoption")
    progress = parse_progress(body, partial=False)
    found = await find_city_object(node, project_id, "project", "project")
    if found.owner.id == adopter.id:
        raise FieldError("project", "that is your own project")
    assert isinstance(found.item, Project)
    submission = parse("project", project_body(found.item, body), partial=False)
    based_on = Submission({**submission.values, "is_based_on": found.item.id}, submission.featured)
    async with node.db.transaction() as session:
        for earlier in await object_queries.targeting(session, ADOPTION, found.item.id):
            if earlier.actor_id == adopter.id:
                raise Conflict("project", f"already adopted: {earlier.ap_id}")
        await keep_copy(session, found)
        project_row = await publish_in(session, node, adopter, "project", based_on)
        adoption_id = node.urls.new_object_id("adoptions")
        now = utcnow()
        adoption = Adoption(
            id=adoption_id,
            attributed_to=adopter.ap_id,
            project=found.item.id,
            local_project=project_row.ap_id,
            url=adoption_id,
            published=now,
            **progress,
        )
        adoption.content = await _card(session, adopter, found.owner, adoption)
        doc = _document(adopter, found.owner, adoption)
        create_id = node.urls.new_activity_id()
        row = Object(
            ap_id=adoption_id,
            type=ADOPTION,
            actor_id=adopter.id,
            local=True,
            document=doc,
            published=now,
            target=found.item.id,
            # A project of another city on this node needs no Accept: nothing travels.
            state=AnswerState.ACCEPTED if found.owner.local else AnswerState.PENDING,
            activity_ap_id=create_id,
        )
        session.add(row)
        await session.flush()
        await _send(session, node, adopter, found.owner, "Create", doc, create_id)
    log.info("@%s adopted %s as %s", adopter.handle, found.item.id, project_row.ap_id)
    return row, project_row


async def _own(session: AsyncSession, ap_id: str) -> tuple[Object, Actor]:
    row = await object_queries.by_ap_id(session, ap_id)
    if row is None or not row.local or row.type != ADOPTION or row.deleted_at is not None:
        raise NotFound(ap_id)
    adopter = await session.get(Actor, row.actor_id)
    assert adopter is not None
    return row, adopter


async def update(node: Node, ap_id: str, body: dict[str, Any]) -> Object:
    """New status, outcomes or lessons learned → ``Update{Adoption}`` with a newer ``updated``."""
    unknown = sorted(set(body) - PROGRESS_FIELDS)
    if unknown:
        raise FieldError(unknown[0], "not a field of an adoption's progress")
    progress = parse_progress(body, partial=True)
    async with node.db.transaction() as session:
        row, adopter = await _own(session, ap_id)
        current = Adoption.from_plain(row.document)
        owner = await _origin_owner(session, current, row.document)
        now = utcnow()
        previous = current.updated or current.published or now
        # The origin ignores an Update that is not newer than its copy: never send an equal time.
        updated = max(now, previous + timedelta(milliseconds=1))
        changed = dataclasses.replace(current, **progress, updated=updated)
        changed.content = await _card(session, adopter, owner, changed)
        doc = _document(adopter, owner, changed)
        row.document = doc
        row.updated = updated
        await _send(session, node, adopter, owner, "Update", doc)
    log.info("@%s updated adoption %s", adopter.handle, ap_id)
    return row


async def delete(node: Node, ap_id: str) -> None:
    """Withdraw an adoption (our project stays): ``Delete{Tombstone}`` to the same audience."""
    async with node.db.transaction() as session:
        row, adopter = await _own(session, ap_id)
        current = Adoption.from_plain(row.document)
        owner = await _origin_owner(session, current, row.document)
        row.deleted_at = utcnow()
        await _send(session, node, adopter, owner, "Delete", tombstone(row))
    log.info("@%s withdrew adoption %s", adopter.handle, ap_id)
