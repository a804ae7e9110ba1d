"""Offering one of our projects as the solution to a partner's challenge, and answering offers
(§5 Offer a solution).

``offer`` sends ``Offer{object: SolutionOffer, target: challenge}`` to the challenge's owner only.
The owner answers with ``accept`` (``Accept{object: the Offer, result: the project}``; the project
joins the challenge's ``cf:solutions``, and when the challenge is solved by it, the challenge is
updated to ``cf:phase: solved`` with the project in ``cf:resolvedBy``) or ``reject`` (``Reject``
with the reason as ``content``). Each writes its change and its activities in one transaction.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

import orjson

from cityfed.actions.city_objects import Conflict, Missing, find_city_object, keep_copy
from cityfed.actions.errors import EXPECTED_STRING, REQUIRED, TOO_LONG
from cityfed.actions.project_fields import FieldError, Submission
from cityfed.actions.projects import edit_in, load
from cityfed.activitypub.sanitize import html_to_text, text_to_html
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab import Challenge
from cityfed.activitypub.vocab.cooperation import SolutionOffer, rationale_html
from cityfed.federation import outbox
from cityfed.models import activities as activity_queries
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models.states import OFFER_GRAPH, AnswerState
from cityfed.models.tables import Activity, Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node
from cityfed.schemas.objects import OFFER_MAX_CONTENT, OFFER_MAX_REASON

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.offers")

SOLUTION_OFFER = "SolutionOffer"
OFFER_FIELDS = frozenset({"challenge", "project", "content"})
MAX_CONTENT = OFFER_MAX_CONTENT  # declared in cityfed.schemas
MAX_REASON = OFFER_MAX_REASON
_PARAGRAPH_BREAK = re.compile(r"</p>\s*<p>", re.IGNORECASE)


def _required_text(name: str, value: Any, limit: int) -> str:
    if value is not None and not isinstance(value, str):
        raise FieldError(name, EXPECTED_STRING)
    if value is None or not value.strip():
        raise FieldError(name, REQUIRED)
    if len(value.strip()) > limit:
        raise FieldError(name, TOO_LONG, limit=limit)
    return value.strip()


async def _our_project(node: Node, offerer: Actor, project_id: Any) -> Object:
    if not isinstance(project_id, str) or not project_id:
        raise FieldError("project", REQUIRED)
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, project_id)
    if (
        row is None
        or not row.local
        or row.actor_id != offerer.id
        or row.type != "Project"
        or row.deleted_at is not None
    ):
        raise FieldError("project", "not one of your live projects")
    return row


async def offer(node: Node, offerer: Actor, body: dict[str, Any]) -> Object:
    """Offer our project ``body["project"]`` for the challenge ``body["challenge"]``."""
    unknown = sorted(set(body) - OFFER_FIELDS)
    if unknown:
        raise FieldError(unknown[0], "not a field of a solution offer")
    if not isinstance(body.get("challenge"), str) or not body["challenge"].strip():
        raise FieldError("challenge", REQUIRED)
    project = await _our_project(node, offerer, body.get("project"))
    rationale = _required_text("content", body.get("content"), MAX_CONTENT)
    found = await find_city_object(node, body["challenge"].strip(), "challenge", "challenge")
    if found.owner.id == offerer.id:
        raise FieldError("challenge", "that is your own challenge")
    assert isinstance(found.item, Challenge)
    if found.item.phase == "closed":
        raise FieldError("challenge", "it is closed and takes no more offers")
    async with node.db.transaction() as session:
        for earlier in await object_queries.targeting(session, SOLUTION_OFFER, found.item.id):
            if (
                earlier.actor_id == offerer.id
                and earlier.document.get("cf:solution") == project.ap_id
                and earlier.state != AnswerState.REJECTED
            ):
                raise Conflict("project", f"already offered for this challenge: {earlier.ap_id}")
        await keep_copy(session, found)
        offer_id = node.urls.new_object_id("offers")
        activity_id = node.urls.new_activity_id()
        now = utcnow()
        item = SolutionOffer(
            id=offer_id,
            attributed_to=offerer.ap_id,
            solution=project.ap_id,
            challenge=found.item.id,
            content=rationale_html(rationale),
            published=now,
        )
        doc = item.to_ap(owner=found.owner.ap_id)
        doc.pop("@context", None)
        row = Object(
            ap_id=offer_id,
            type=SOLUTION_OFFER,
            actor_id=offerer.id,
            local=True,
            document=doc,
            published=now,
            target=found.item.id,
            state=AnswerState.PENDING,
            activity_ap_id=activity_id,
        )
        session.add(row)
        await session.flush()
        activity = {
            "id": activity_id,
            "type": "Offer",
            "actor": offerer.ap_id,
            "published": format_datetime(now),
            "to": [found.owner.ap_id],
            "object": doc,
            "target": found.item.id,
        }
        # A challenge of another city on this node: the row is already visible to its owner.
        await outbox.enqueue(
            session, node, offerer, activity, [found.owner.inbox or ""], public=False
        )
    log.info("@%s offered %s for %s", offerer.handle, project.ap_id, found.item.id)
    return row


async def _received(session: AsyncSession, offer_id: Any) -> tuple[Object, Object, Actor, Actor]:
    """An offer made to one of our live challenges: (offer, challenge, owner, offerer)."""
    if not isinstance(offer_id, str) or not offer_id:
        raise FieldError("offer", REQUIRED)
    row = await object_queries.by_ap_id(session, offer_id)
    challenge = await object_queries.by_ap_id(session, row.target) if row and row.target else None
    if (
        row is None
        or row.type != SOLUTION_OFFER
        or row.deleted_at is not None
        or challenge is None
        or not challenge.local
        or challenge.type != "Challenge"
        or challenge.deleted_at is not None
        or challenge.actor_id == row.actor_id
    ):
        raise Missing("offer", "no such offer to one of our challenges")
    owner = await actor_queries.actor_by_id(session, challenge.actor_id)
    offerer = await actor_queries.actor_by_id(session, row.actor_id)
    assert owner is not None and offerer is not None
    if not OFFER_GRAPH.allows(row.state, AnswerState.ACCEPTED):
        raise Conflict("offer", f"already {row.state}")
    return row, challenge, owner, offerer


async def answer(
    node: Node,
    offer_id: Any,
    *,
    accept: bool,
    solved: bool = False,
    reason: str | None = None,
) -> Object:
    """Accept (optionally as the challenge's solution) or reject an offer, and tell the offerer."""
    if isinstance(reason, str) and not reason.strip():
        reason = None  # a reason is optional: an empty one is no reason
    if reason is not None:
        reason = _required_text("reason", reason, MAX_REASON)
    async with node.db.transaction() as session:
        row, challenge, owner, offerer = await _received(session, offer_id)
        item = SolutionOffer.from_plain(row.document)
        OFFER_GRAPH.move(row, AnswerState.ACCEPTED if accept else AnswerState.REJECTED)
        reply: dict[str, Any] = {
            "id": node.urls.new_activity_id(),
            "type": "Accept" if accept else "Reject",
            "actor": owner.ap_id,
            "object": row.activity_ap_id or row.ap_id,
            "to": [offerer.ap_id],
        }
        if accept:
            reply["result"] = item.solution
        elif reason:
            reply["content"] = text_to_html(reason)
        await outbox.enqueue(session, node, owner, reply, [offerer.inbox or ""], public=False)
        if accept and solved:
            current = load(challenge)
            assert isinstance(current, Challenge)  # offers are made on challenges only (above)
            resolved = [*current.resolved_by]
            if item.solution not in resolved:
                resolved.append(item.solution)
            change = Submission({"phase": "solved", "resolved_by": resolved})
            await edit_in(session, node, owner, challenge.ap_id, change, "challenge")
    log.info("@%s %s offer %s", owner.handle, row.state, row.ap_id)
    return row


# --- reading ------------------------------------------------------------------------------------


async def answers(session: AsyncSession, rows: list[Object]) -> dict[str, Activity]:
    """The Accept/Reject of each offer (sent by us, or received and kept), by the Offer's id."""
    ids = [row.activity_ap_id for row in rows if row.activity_ap_id]
    if not ids:
        return {}
    found = await activity_queries.answers_to(session, ids)
    return {activity.object_ap_id or "": activity for activity in found}


def _plain(value: str) -> str:
    """HTML paragraphs → plain text with blank lines between them (as the rationale was typed)."""
    return html_to_text(_PARAGRAPH_BREAK.sub("<br><br>", value))


def view(row: Object, reply: Activity | None = None) -> dict[str, Any]:
    """The API's JSON view of an offer, with the owner's reason when it was rejected."""
    item = SolutionOffer.from_plain(row.document)
    reason = None
    if reply is not None and reply.type == "Reject":
        content = orjson.loads(reply.body).get("content")
        reason = _plain(content) if isinstance(content, str) else None
    return {
        "id": item.id,
        "challenge": item.challenge,
        "project": item.solution,
        "offerer": item.attributed_to,
        "content": item.content,
        "rationale": _plain(item.content),
        "state": row.state,
        "reason": reason,
        "published": format_datetime(row.published),
    }
