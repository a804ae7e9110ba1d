"""Backfill on follow (issue 18): once a partner city accepts our follow, fetch its outbox so the
projects and challenges it published before join our partner timeline.

Runs beside the inbox and delivery workers (``runtime.workers``), never in a request: it looks
for accepted follows whose ``backfilled_at`` is unset, fetches the followee's outbox through the
signed, SSRF-safe fetcher and stores each Create's embedded Project or Challenge once.

What is trusted: the outbox and each page are fetched from the partner's own origin
(``fetch_object`` insists a document's id is on the host that served it), so an embedded object
whose id is on that same host and that is attributed to the partner is authentic by origin, the
rule the project applies to fetched objects (§6). Anything else in the outbox (an object on
another host, or attributed to someone else) is refused and logged. A hostile outbox is bounded:
at most ``MAX_PAGES`` pages and ``MAX_ITEMS`` items, a page seen twice ends the walk, and the
fetcher refuses documents over ``fetch_max_bytes``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from cityfed.activitypub.actor import authority
from cityfed.activitypub.vocab import parse_object
from cityfed.activitypub.vocab.common import first_of, id_of, read_as_default
from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.handlers import kinds
from cityfed.models import backfill as backfill_queries
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.backfill")

MAX_PAGES = 5
MAX_ITEMS = 200
INTERVAL = 1.0  # seconds between looks for follows that still owe a backfill


@dataclass
class Result:
    stored: int = 0
    known: int = 0
    refused: list[str] = field(default_factory=list)
    pages: int = 0


def _page_ref(value: Any) -> tuple[str | None, dict[str, Any] | None]:
    """A ``first``/``next`` value: a URL to fetch, or an embedded page."""
    if isinstance(value, dict):
        return id_of(value), value
    return (value if isinstance(value, str) else None), None


async def backfill(node: Node, owed: backfill_queries.Owed) -> Result:
    """Fetch ``owed``'s outbox (bounded) and store its earlier projects and challenges."""
    result = Result()
    if not owed.outbox:
        result.refused.append("actor has no outbox")
        return result
    origin = authority(owed.actor_ap_id)
    if authority(owed.outbox) != origin:
        result.refused.append(f"outbox {owed.outbox} is not on {origin}")
        return result
    collection = await fetch_object(node, owed.outbox)
    next_url, page = _page_ref(collection.get("first"))
    if page is None and next_url is None and "orderedItems" in collection:
        page = collection  # an unpaged outbox
    seen: set[str] = set()
    items_seen = 0
    while result.pages < MAX_PAGES and items_seen < MAX_ITEMS:
        if page is None:
            if next_url is None or next_url in seen:
                break
            if authority(next_url) != origin:
                result.refused.append(f"page {next_url} is not on {origin}")
                break
            seen.add(next_url)
            page = await fetch_object(node, next_url)
        result.pages += 1
        items = page.get("orderedItems") or page.get("items") or []
        if not isinstance(items, list):
            items = [items]
        for item in items[: MAX_ITEMS - items_seen]:
            items_seen += 1
            await _keep(node, owed, item, page.get("@context"), result)
        next_url, page = _page_ref(page.get("next"))
        if page is not None and id_of(page) in seen:
            break
    return result


async def _keep(
    node: Node, owed: backfill_queries.Owed, item: Any, context: Any, result: Result
) -> None:
    if not isinstance(item, dict) or first_of(item.get("type")) != "Create":
        return
    obj = item.get("object")
    if not isinstance(obj, dict) or kinds.kind_of(obj) != kinds.CITY:
        return  # a comment, an adoption, or an object by reference: not part of the backfill
    try:
        parsed = parse_object(obj, context=context)
        plain = read_as_default(obj, context=context) if parsed is not None else None
    except ValueError as exc:
        result.refused.append(f"{id_of(obj)}: invalid ({exc})")
        return
    if parsed is None or plain is None:
        return
    if (
        authority(parsed.id) != authority(owed.actor_ap_id)
        or parsed.attributed_to != owed.actor_ap_id
    ):
        result.refused.append(f"{parsed.id} is not {owed.actor_ap_id}'s to publish")
        return
    plain.pop("@context", None)
    async with node.db.transaction() as session:
        stored = await backfill_queries.store_if_new(
            session,
            actor_id=owed.actor_id,
            ap_id=parsed.id,
            type_name=type(parsed).__name__,
            document=plain,
            published=parsed.published or utcnow(),
            updated=parsed.updated,
        )
    if stored:
        result.stored += 1
    else:
        result.known += 1


async def run_once(node: Node) -> int:
    """Backfill every follow that owes one; the number of follows done."""
    async with node.db.session() as session:
        owed = await backfill_queries.owed(session)
    for one in owed:
        try:
            result = await backfill(node, one)
        except FetchError as exc:
            # Not retried: a partner's new objects arrive by delivery anyway, and a failing or
            # hostile outbox must not be asked again and again.
            log.warning("backfill of %s failed: %s", one.actor_ap_id, exc)
        else:
            log.info(
                "backfilled %s: %d stored, %d known, %d pages, %d refused%s",
                one.actor_ap_id,
                result.stored,
                result.known,
                result.pages,
                len(result.refused),
                f" ({'; '.join(result.refused[:3])})" if result.refused else "",
            )
        async with node.db.transaction() as session:
            await backfill_queries.mark_backfilled(session, one.follow_id)
    return len(owed)


async def run(node: Node) -> None:
    """The backfill loop, a task of ``runtime.workers``; cancelled on the way out."""
    while True:
        try:
            await run_once(node)
        except asyncio.CancelledError:
            raise
        except Exception:  # one bad round must not end the loop
            log.exception("backfill round failed")
        await asyncio.sleep(INTERVAL)
