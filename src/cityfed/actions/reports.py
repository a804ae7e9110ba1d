"""Reports (§5 Report): flag a remote actor to its node, and resolve the reports peers send us.

A report leaves as a ``Flag`` from our instance actor, the way Mastodon sends them, so the
receiving node learns which node complained but never which of our staff did: nothing about the
reporter (staff name, token name, city actor) is put into the Flag or stored with the report.
The Flag, its delivery and our record of it are written in one transaction (§3 Outbound).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cityfed.actions.errors import DOMAIN_BLOCKED, TOO_LONG, TOO_MANY, ActionError
from cityfed.activitypub.actor import authority, is_http_url
from cityfed.federation import outbox
from cityfed.federation.remote import ResolveError, resolve_reference
from cityfed.models import actors as actor_queries
from cityfed.models import objects as object_queries
from cityfed.models import reports as report_queries
from cityfed.models.tables import Actor, AuditEntry, Report
from cityfed.models.types import utcnow
from cityfed.node import MissingKeyError, Node
from cityfed.schemas.objects import REPORT_MAX_CONTENT

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.reports")

MAX_CONTENT = REPORT_MAX_CONTENT  # declared in cityfed.schemas
MAX_NOTE = 2000
# Mastodon lets a report name any number of posts; a bound keeps one Flag (and the lookups it
# costs the receiver) small.
MAX_OBJECTS = 50


class ReportError(ActionError):
    """The report cannot be made or resolved; the message says why (shown to the user)."""


class ReportNotFound(LookupError):
    """No such report."""


class AlreadyResolved(ReportError):
    """The report was resolved already."""


@dataclass(frozen=True)
class Resolution:
    report: Report
    audit: AuditEntry


def flag_activity(
    flag_id: str, reporter: Actor, target: Actor, object_ids: list[str], content: str
) -> dict[str, Any]:
    """The Flag as Mastodon's FlagSerializer shapes it: the object list starts with the actor.

    ``reporter`` is always our instance actor; ``to`` names the reported actor so receivers that
    read addressing (GoToSocial) see whom it concerns.
    """
    return {
        "id": flag_id,
        "type": "Flag",
        "actor": reporter.ap_id,
        "object": [target.ap_id, *object_ids],
        "content": content,
        "to": [target.ap_id],
    }


def _content(content: str) -> str:
    text = content.strip()
    if not text:
        raise ReportError("give the reason for the report", field="content")
    if len(text) > MAX_CONTENT:
        raise ReportError(TOO_LONG, field="content", limit=MAX_CONTENT)
    return text


async def _resolve_actor(node: Node, target: str) -> Actor:
    """``handle@host``, ``@handle@host`` or an actor URL → the remote actor (network, no tx)."""
    try:
        return await resolve_reference(node, target)
    except ResolveError as exc:
        raise ReportError(f"cannot find {target.strip()}: {exc}") from None


def _object_ids(target: Actor, object_ids: list[str]) -> list[str]:
    ids: list[str] = []
    for ap_id in object_ids:
        ap_id = ap_id.strip()
        if not is_http_url(ap_id):
            raise ReportError(f"{ap_id!r} is not an http(s) id", field="objects")
        # §6: an object's id shares the host of its actor; anything else is not theirs to answer.
        if authority(ap_id) != authority(target.ap_id):
            raise ReportError(f"{ap_id} is not on {target.domain}", field="objects")
        if ap_id not in ids:
            ids.append(ap_id)
    if len(ids) > MAX_OBJECTS:
        raise ReportError(TOO_MANY, field="objects", limit=MAX_OBJECTS)
    return ids


async def _check_authorship(session: AsyncSession, target: Actor, object_ids: list[str]) -> None:
    """Objects we hold a copy of must be the reported actor's (unknown ones are left to the
    receiver, which knows its own objects)."""
    for ap_id in object_ids:
        row = await object_queries.by_ap_id(session, ap_id)
        if row is not None and row.actor_id != target.id:
            raise ReportError(f"{ap_id} is not by {target.ap_id}", field="objects")


async def report(
    node: Node, target: str, content: str, object_ids: list[str] | None = None
) -> Report:
    """Send a Flag about ``target`` (and some of its objects) to its node, anonymously."""
    text = _content(content)
    remote = await _resolve_actor(node, target)
    if remote.local:
        raise ReportError("cannot report an actor of this node")
    if node.policy.is_blocked(remote.domain):
        # Nothing is ever delivered to a blocked domain, so the report could not arrive.
        raise ReportError(DOMAIN_BLOCKED, domain=remote.domain)
    ids = _object_ids(remote, object_ids or [])
    inbox = remote.shared_inbox or remote.inbox
    if not inbox:
        raise ReportError(f"{remote.ap_id} has no inbox")
    async with node.db.transaction() as session:
        await _check_authorship(session, remote, ids)
        instance = await actor_queries.instance_actor(session)
        if instance is None:
            raise MissingKeyError("the instance actor is missing; run `cityfed init`")
        flag = flag_activity(node.urls.new_activity_id(), instance, remote, ids, text)
        # The instance actor is the sender, so the delivery worker signs with its key.
        await outbox.enqueue(session, node, instance, flag, [inbox], public=False)
        row = Report(
            activity_ap_id=flag["id"],
            direction="sent",
            origin_domain=authority(node.urls.base),  # a sent report's origin is us
            target_actor=remote.ap_id,
            objects={"ids": ids},
            content=text,
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
    outbox.kick(node)
    log.info("sent report %s about %s (%d object(s))", flag["id"], remote.ap_id, len(ids))
    return row


async def resolve(node: Node, report_id: int, *, who: str, note: str | None) -> Resolution:
    """Close a received report with a note; the resolution is recorded in the audit log."""
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise ReportError(TOO_LONG, field="note", limit=MAX_NOTE)
    async with node.db.transaction() as session:
        row = await report_queries.by_id(session, report_id)
        if row is None:
            raise ReportNotFound(report_id)
        if row.direction != "received":
            raise ReportError("only received reports are resolved here")
        now = utcnow()
        # A conditional UPDATE, not read-then-write: two admins resolving at once must not both
        # succeed (and both be audited) on either database.
        if not await report_queries.resolve(session, report_id, now, who, note):
            raise AlreadyResolved("this report is already resolved")
        await session.refresh(row)
        audit = AuditEntry(
            at=now,
            who=who,
            action="report.resolve",
            target=row.activity_ap_id,
            detail={
                "report": row.id,
                "origin_domain": row.origin_domain,
                "target_actor": row.target_actor,
                "note": note,
            },
        )
        session.add(audit)
        await session.flush()
    log.info("report %d (%s) resolved by %s", row.id, row.activity_ap_id, who)
    return Resolution(report=row, audit=audit)
