"""Adopting a partner's project (§5 Adopt), reporting how it goes, and the adoption graph.

``adopt`` creates our own Project (``cf:isBasedOn`` the origin) and the ``cf:Adoption`` naming
both, and enqueues ``Create{Project}`` to our followers and ``Create{Adoption}`` to the origin city
and our followers, all in one transaction. The origin answers ``Accept`` (see
``federation/handlers/adoptions.py``); ``update`` sends progress as ``Update{Adoption}``.

The origin project is read before the transaction, from our copy or fetched from its host, and the
fetched copy is kept: it names the origin's owner for later updates and lets the graph show it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.actions.project_fields import (
    ALLOWED,
    KINDS,
    LIMITS,
    TYPE_NAMES,
    CityObject,
    FieldError,
    Submission,
    parse,
)
from cityfed.actions.projects import NotFound, load, publish_in, tombstone
from cityfed.activitypub.actor import authority, is_http_url
from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab import Project, parse_object
from cityfed.activitypub.vocab.common import id_of, read_as_default, text_of
from cityfed.activitypub.vocab.cooperation import ADOPTION_STATUSES, Adoption, adoption_card
from cityfed.federation import outbox
from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.remote import ResolveError, get_actor
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.adoptions")

ADOPTION = "Adoption"
PROGRESS_FIELDS = frozenset({"status", "outcomes", "lessons_learned"})
# Project fields a city may override when adopting; outcomes and lessons learned belong to the
# adoption itself (they are what the origin wants to hear back).
PROJECT_OVERRIDES = ALLOWED["project"] - PROGRESS_FIELDS
ADOPT_FIELDS = PROGRESS_FIELDS | PROJECT_OVERRIDES | {"project"}
_HASHTAG = re.compile(r"^\w{1,100}$")
# The graph is built from what this node knows; bound it so a long chain stays cheap.
GRAPH_DEPTH = 6
GRAPH_NODES = 200


class Missing(FieldError):
    """The named thing does not exist (the API answers 404)."""


class Conflict(FieldError):
    """The request repeats something already done (the API answers 409)."""


# --- finding a partner's project or challenge -----------------------------------------------------


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
        raise Missing(name, f"no such {kind}")
    if node.policy.is_blocked(authority(ap_id)):
        raise FieldError(name, f"{authority(ap_id)} is blocked")
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


# --- validation ---------------------------------------------------------------------------------


def _text(name: str, value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise FieldError(name, "expected a string")
    if len(value.strip()) > LIMITS[name]:
        raise FieldError(name, f"at most {LIMITS[name]} characters")
    return value.strip()


def parse_progress(body: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """``status``/``outcomes``/``lessons_learned`` → Adoption keyword arguments."""
    values: dict[str, Any] = {}
    if not partial or "status" in body:
        status = body.get("status") or "considering"
        if status not in ADOPTION_STATUSES:
            raise FieldError("status", f"one of {', '.join(ADOPTION_STATUSES)}")
        values["status"] = status
    for name in ("outcomes", "lessons_learned"):
        if not partial or name in body:
            values[name] = _text(name, body.get(name))
    return values


def _project_body(origin: Project, body: dict[str, Any]) -> dict[str, Any]:
    """Our new project: the origin's texts (phase "idea") unless the request overrides them."""
    defaults: dict[str, Any] = {
        "title": origin.name[: LIMITS["title"]],
        "teaser": origin.teaser[: LIMITS["teaser"]],
        "description": origin.description[: LIMITS["description"]],
        # A partner's tag our form would refuse must not make the whole adoption fail.
        "tags": [tag for tag in origin.tags if _HASHTAG.match(tag)],
        "sdgs": list(origin.sdgs),
        "language": origin.language,
        "phase": "idea",
    }
    return {**defaults, **{k: v for k, v in body.items() if k in PROJECT_OVERRIDES}}


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
    submission = parse("project", _project_body(found.item, body), partial=False)
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
            state="accepted" if found.owner.local else "pending",
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


# --- reading ------------------------------------------------------------------------------------


def view(row: Object) -> dict[str, Any]:
    """The API's JSON view of an adoption (ours or a partner's)."""
    adoption = Adoption.from_plain(row.document)
    return {
        "id": adoption.id,
        "project": adoption.project,
        "local_project": adoption.local_project,
        "adopter": adoption.adopter,
        "status": adoption.status,
        "state": row.state,
        "outcomes": adoption.outcomes,
        "lessons_learned": adoption.lessons_learned,
        "published": format_datetime(row.published),
        "updated": format_datetime(row.updated) if row.updated else None,
    }


async def _project_node(session: AsyncSession, ap_id: str) -> tuple[dict[str, Any], str | None]:
    """A graph node for a project id, and the project it is based on (if we know it)."""
    out: dict[str, Any] = {"id": ap_id, "title": None, "owner": None, "local": False}
    row = await object_queries.by_ap_id(session, ap_id)
    if row is None or row.type != "Project" or row.deleted_at is not None:
        return out, None
    owner = await session.get(Actor, row.actor_id)
    out["local"] = row.local
    if owner is not None:
        out["owner"] = {
            "actor": owner.ap_id,
            "name": owner.name,
            "account": f"{owner.handle}@{owner.domain}",
        }
    try:
        project = load(row)
    except ValueError:
        return out, None
    out["title"] = project.name
    return out, project.is_based_on if isinstance(project, Project) else None


async def graph(session: AsyncSession, project_id: str) -> dict[str, Any]:
    """Every adoption this node knows around ``project_id``: who adopted it, whom it adopts, and
    so on outwards (breadth first, cycle-safe, at most ``GRAPH_DEPTH`` steps/``GRAPH_NODES``)."""
    nodes: dict[str, dict[str, Any]] = {}
    edges: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    queue: list[tuple[str, int]] = [(project_id, 0)]
    while queue and len(nodes) < GRAPH_NODES:
        ap_id, depth = queue.pop(0)
        if ap_id in nodes:
            continue
        node, based_on = await _project_node(session, ap_id)
        nodes[ap_id] = node
        found: list[tuple[str, str, Object | None]] = []
        # Down: adoptions of this project (ours, received, or partners' copies).
        for row in await object_queries.targeting(session, ADOPTION, ap_id):
            local_project = id_of(row.document.get("cf:localProject"))
            if local_project:
                found.append((local_project, ap_id, row))
        # Up: the project this one is based on, through its adoption when we know it.
        if based_on:
            ups = [
                row
                for row in await object_queries.targeting(session, ADOPTION, based_on)
                if id_of(row.document.get("cf:localProject")) == ap_id
            ]
            found.extend((ap_id, based_on, row) for row in ups)
            if not ups:
                found.append((ap_id, based_on, None))
        for source, target, row in found:
            key = (source, target, row.ap_id if row else None)
            if key not in edges:
                edges[key] = {
                    "from": source,
                    "to": target,
                    "adoption": row.ap_id if row else None,
                    "status": text_of(row.document.get("cf:status")) if row else None,
                    "adopter": id_of(row.document.get("attributedTo")) if row else None,
                }
            other = source if target == ap_id else target
            if other not in nodes and depth < GRAPH_DEPTH:
                queue.append((other, depth + 1))
    # Endpoints beyond the bounds are listed without being followed further.
    for edge in edges.values():
        for end in (edge["from"], edge["to"]):
            if end not in nodes:
                nodes[end] = (await _project_node(session, end))[0]
    # An adopter's project we hold no copy of is still somebody's: name the adopter at least.
    for edge in edges.values():
        node = nodes[edge["from"]]
        if node["owner"] is None and edge["adopter"]:
            node["owner"] = {"actor": edge["adopter"], "name": None, "account": None}
    return {"project": project_id, "nodes": list(nodes.values()), "edges": list(edges.values())}
