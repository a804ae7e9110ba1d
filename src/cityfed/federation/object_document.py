"""One of our objects as served and sent: the stored document with what changes without an edit.

``replies`` is embedded with its first page (as Mastodon sends it: GoToSocial and Mastodon fill a
thread only from an embedded ``first`` page), ``likes`` and ``shares`` carry their counts. The
stored document keeps only the links; these are filled in whenever the object leaves the node.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub import collections as coll
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab.common import former_type
from cityfed.models import objects as object_queries
from cityfed.models import reactions as reaction_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Object
from cityfed.models.types import utcnow

# Objects with a replies collection of their own (/{kind}/{uid}/replies).
WITH_REPLIES = frozenset(object_queries.CITY_TYPES)


async def with_live_collections(
    session: AsyncSession, row: Object, document: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``document`` (default: the row's) with current replies, likes and shares."""
    doc = dict(row.document if document is None else document)
    if row.type in WITH_REPLIES:
        replies_id = f"{row.ap_id}/replies"
        total = await object_queries.count_replies(session, row.ap_id)
        first = (
            await object_queries.reply_ids(session, row.ap_id, offset=0, limit=coll.PAGE_SIZE)
            if total
            else []
        )
        doc["replies"] = coll.replies(replies_id, first, total)
    counts = (await reaction_queries.counts(session, [row.id]))[row.id]
    doc["likes"] = coll.counted(f"{row.ap_id}/likes", counts[ReactionKind.LIKE])
    doc["shares"] = coll.counted(f"{row.ap_id}/shares", counts[ReactionKind.ANNOUNCE])
    return doc


def tombstone(row: Object) -> dict[str, Any]:
    """What a deleted object of ours is served and announced as (served with a 410)."""
    return {
        "id": row.ap_id,
        "type": "Tombstone",
        "formerType": former_type(row.type),
        "deleted": format_datetime(row.deleted_at or utcnow()),
    }
