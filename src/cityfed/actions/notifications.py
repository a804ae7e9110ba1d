"""Staff notifications as the faces use them (issue 18.5): read, count, mark read, preferences.

The notifications themselves are written by the federation handlers through
models/notifications.py, in the transaction of the change that causes them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from cityfed.models import notifications as notification_queries
from cityfed.models.notifications import EmailMode, Kind, Preferences
from cityfed.models.tables import Actor, Notification
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.notifications")

PAGE = 50


class PreferenceError(ValueError):
    """A preference that is not one of ours; ``field`` names the form field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem)
        self.field = field
        self.problem = problem


async def unread_count(node: Node, user_id: int) -> int:
    async with node.db.session() as session:
        return await notification_queries.unread_count(session, user_id)


async def list_for(
    node: Node, user_id: int, *, before_id: int | None = None, unread_only: bool = False
) -> list[tuple[Notification, Actor | None]]:
    async with node.db.session() as session:
        return await notification_queries.of_user(
            session, user_id, limit=PAGE, before_id=before_id, unread_only=unread_only
        )


async def mark_read(node: Node, user_id: int, ids: Sequence[int] | None = None) -> int:
    """One or more (``ids``) or all (None) of a member's own notifications; how many changed."""
    async with node.db.transaction() as session:
        changed = await notification_queries.mark_read(session, user_id, ids)
    log.info("user %d marked %d notification(s) read", user_id, changed)
    return changed


async def preferences(node: Node, user_id: int) -> Preferences:
    async with node.db.session() as session:
        return await notification_queries.preferences(session, user_id)


async def set_preferences(
    node: Node, user_id: int, *, wanted: Iterable[str], email: str
) -> Preferences:
    """Keep the events in ``wanted`` (every other kind is muted) and the e-mail mode."""
    try:
        mode = EmailMode(email)
    except ValueError:
        raise PreferenceError("email", f"unknown e-mail choice {email!r}") from None
    names = set(wanted)
    unknown = names - {kind.value for kind in Kind}
    if unknown:
        raise PreferenceError("kinds", f"unknown event {sorted(unknown)[0]!r}")
    muted = [kind for kind in Kind if kind.value not in names]
    async with node.db.transaction() as session:
        await notification_queries.set_preferences(session, user_id, muted=muted, email=mode)
    log.info("user %d: notifications of %d kind(s) muted, e-mail %s", user_id, len(muted), mode)
    return Preferences(frozenset(muted), mode)
