"""Staff notifications from federation events (issue 18.5): the words of each, and the call into
models/notifications.py, inside the handler's transaction.

Only events that touch our own city are notified: a comment under one of our items, a follow of
our city, a like or boost of our item, an adoption of our project, an offer for our challenge, an
answer to our offer, a report, a partner's key rotation, deliveries to a partner given up.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.vocab.city_object import title_of
from cityfed.models import notifications as notification_queries
from cityfed.models.notifications import Kind
from cityfed.models.tables import Actor, Object

log = logging.getLogger("cityfed.notify")


def who(actor: Actor) -> str:
    """``City of Barcelona (@barcelona@host)``: a partner as staff know it."""
    handle = f"@{actor.handle}@{actor.domain}" if actor.handle else actor.ap_id
    return f"{actor.name} ({handle})" if actor.name else handle


def title(obj: Object | None) -> str:
    """An item's name in a line (the first of its languages when it has several)."""
    if obj is None:
        return "an item"
    name = " ".join((title_of(obj.document) or "").split())
    return f"“{name[:120]}”" if name else f"a {obj.type.lower()}"


async def notify(
    session: AsyncSession,
    kind: Kind,
    summary: str,
    *,
    actor: Actor | None = None,
    obj: Object | None = None,
    report_id: int | None = None,
    link: str | None = None,
) -> None:
    count = await notification_queries.record(
        session,
        kind,
        summary,
        subject=f"[cityfed] {summary[:150]}",
        actor_id=actor.id if actor is not None else None,
        object_id=obj.id if obj is not None else None,
        report_id=report_id,
        link=link or (obj.ap_id if obj is not None else None),
    )
    log.info("%s notified to %d staff member(s): %s", kind, count, summary)
