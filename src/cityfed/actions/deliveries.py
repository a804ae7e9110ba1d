"""Administering the delivery queue: give dead deliveries another chance, or drop them.

A delivery is ``dead`` once the worker gave up on it (§3 Outbound). When the peer is back, an
admin retries its dead rows (they start over as if new); when it is gone for good, drops them.
Only dead rows are touched: pending and retrying ones belong to the worker. Each call is one
audited transaction; rows of blocked domains are never revived.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from cityfed.actions.errors import ActionError, Problem
from cityfed.actions.peers import PolicyError, normalize_domain
from cityfed.federation import outbox
from cityfed.models import deliveries as delivery_queries
from cityfed.models.tables import AuditEntry
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.deliveries")

MAX_IDS = 1000


ID_COUNT = Problem("id_count", "give 1 to {limit} delivery ids")


class SelectionError(ActionError):
    """Neither or both of ids and domain were given, or they are malformed."""


def _selection(
    ids: Sequence[int] | None, domain: str | None
) -> tuple[Sequence[int] | None, str | None]:
    """The ids asked for, or the domain as policy spells it (exactly one of them)."""
    if (ids is None) == (domain is None):
        raise SelectionError("give either ids (a list of delivery ids) or a domain")
    if ids is not None:
        if not ids or len(ids) > MAX_IDS:
            raise SelectionError(ID_COUNT, field="ids", limit=MAX_IDS)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise SelectionError("expected a list of integers", field="ids")
        return list(ids), None
    assert domain is not None
    try:
        domain = normalize_domain(domain)
    except PolicyError as exc:
        raise SelectionError(str(exc)) from None
    return None, domain


async def retry(
    node: Node, who: str, *, ids: Sequence[int] | None = None, domain: str | None = None
) -> int:
    """Dead deliveries (by id, or all of a domain) become due now with a fresh attempt count."""
    ids, domain = _selection(ids, domain)
    async with node.db.transaction() as session:
        count = await delivery_queries.requeue_dead(session, ids=ids, domain=domain, now=utcnow())
        session.add(_audit(who, "deliveries.retry", ids, domain, count))
    if count:
        outbox.kick(node)
    log.info("%s retried %d dead deliveries (%s)", who, count, _what(ids, domain))
    return count


async def drop(
    node: Node, who: str, *, ids: Sequence[int] | None = None, domain: str | None = None
) -> int:
    """Dead deliveries (by id, or all of a domain) are given up for good (``cancelled``)."""
    ids, domain = _selection(ids, domain)
    async with node.db.transaction() as session:
        count = await delivery_queries.drop_dead(session, ids=ids, domain=domain, now=utcnow())
        session.add(_audit(who, "deliveries.drop", ids, domain, count))
    log.info("%s dropped %d dead deliveries (%s)", who, count, _what(ids, domain))
    return count


def _audit(
    who: str, action: str, ids: Sequence[int] | None, domain: str | None, count: int
) -> AuditEntry:
    detail: dict[str, Any] = {"count": count}
    if ids is not None:
        detail["ids"] = list(ids)
    return AuditEntry(at=utcnow(), who=who, action=action, target=domain, detail=detail)


def _what(ids: Sequence[int] | None, domain: str | None) -> str:
    return f"domain {domain}" if domain is not None else f"ids {list(ids or [])}"
