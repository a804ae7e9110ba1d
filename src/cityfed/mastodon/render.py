"""From stored rows to Mastodon entities, with the few queries a page of them needs.

One ``Renderer`` per request (or per streamed event): it asks models/ once per page for the
authors, their counts, the reply targets, reply counts and reactions, then builds each entity with
mastodon/entities.py. Authors are rendered once each, however many of their statuses a page holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityfed.mastodon import entities
from cityfed.mastodon.ids import account_id, status_id
from cityfed.models import reactions as reaction_queries
from cityfed.models import statuses as status_queries
from cityfed.models.reactions import ReactionKind
from cityfed.models.tables import Actor, Object

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


class Renderer:
    def __init__(self, session: AsyncSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self._accounts: dict[int, dict[str, Any]] = {}

    async def account(self, actor: Actor) -> dict[str, Any]:
        cached = self._accounts.get(actor.id)
        if cached is None:
            stats = await status_queries.account_stats(self.session, actor.id)
            cached = entities.account_entity(
                actor,
                base_url=self.base_url,
                stats=entities.AccountStats(
                    statuses=stats.statuses,
                    followers=stats.followers,
                    following=stats.following,
                    last_status_at=stats.last_status_at,
                ),
            )
            self._accounts[actor.id] = cached
        return cached

    async def statuses(self, rows: Sequence[Object]) -> list[dict[str, Any]]:
        """Status entities of ``rows``, in their order (rows whose author is gone are left out)."""
        if not rows:
            return []
        session = self.session
        authors = await status_queries.accounts_by_id(session, {row.actor_id for row in rows})
        targets = await status_queries.shown_by_ap_ids(
            session, {row.in_reply_to for row in rows if row.in_reply_to}
        )
        mentioned_ids = {
            str(item.get("href"))
            for row in rows
            for item in _list(row.document.get("tag"))
            if isinstance(item, dict) and item.get("type") == "Mention"
        }
        mentioned = await status_queries.accounts_by_ap_id(session, mentioned_ids)
        replies = await status_queries.reply_counts(session, [row.ap_id for row in rows])
        reactions = await reaction_queries.counts(session, [row.id for row in rows])
        rendered: list[dict[str, Any]] = []
        for row in rows:
            author = authors.get(row.actor_id)
            if author is None:
                continue
            target = targets.get(row.in_reply_to or "")
            in_reply_to = (
                (status_id(target.published, target.id), account_id(target.actor_id))
                if target is not None
                else None
            )
            rendered.append(
                entities.status_entity(
                    row,
                    await self.account(author),
                    base_url=self.base_url,
                    counts=entities.StatusCounts(
                        replies=replies.get(row.ap_id, 0),
                        reblogs=reactions[row.id][ReactionKind.ANNOUNCE],
                        favourites=reactions[row.id][ReactionKind.LIKE],
                    ),
                    in_reply_to=in_reply_to,
                    mentioned=mentioned,
                )
            )
        return rendered

    async def status(self, row: Object) -> dict[str, Any] | None:
        found = await self.statuses([row])
        return found[0] if found else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
