"""Comments: our city replies to a project, challenge or comment (§5 Comment), edits, deletes.

A comment is a plain ``Note`` so every fediverse server shows it: it mentions the owner of what it
answers (Mastodon notifies on the Mention), is public, and goes to the owner's inbox and to our
followers. The owner forwards it to its own followers, so the whole thread reaches every partner.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from cityfed.actions.errors import REQUIRED, TOO_LONG, ActionError
from cityfed.actions.media import link_to_comment
from cityfed.activitypub.actor import authority
from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.sanitize import hashtags_in, text_to_html
from cityfed.activitypub.timefmt import format_datetime
from cityfed.activitypub.vocab.common import (
    Hashtag,
    canonical_language,
    former_type,
    id_of,
    tag_url_function,
)
from cityfed.federation import outbox
from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.remote import ResolveError, get_actor
from cityfed.media.storage import forget_with_settings
from cityfed.models import follows as follow_queries
from cityfed.models import media as media_queries
from cityfed.models import objects as object_queries
from cityfed.models.states import CommentState
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.node import Node
from cityfed.schemas.objects import COMMENT_MAX_LENGTH

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.comments")

MAX_LENGTH = COMMENT_MAX_LENGTH  # declared in cityfed.schemas
DEFAULT_LANGUAGE = "en"


class CommentError(ActionError):
    """The comment cannot be made; the message names the field."""


@dataclass(frozen=True)
class Target:
    """What is being answered: its id, its thread, and who owns it."""

    id: str
    context: str
    owner: Actor


async def resolve_target(node: Node, in_reply_to: str) -> Target:
    """Find the object replied to (stored, or fetched from its origin) and its owner (no tx)."""
    async with node.db.session() as session:
        row = await object_queries.by_ap_id(session, in_reply_to)
        owner = await session.get(Actor, row.actor_id) if row is not None else None
    if row is not None and owner is not None:
        if row.deleted_at is not None:
            raise CommentError("that object was deleted", field="in_reply_to")
        return Target(row.ap_id, row.context or row.ap_id, owner)
    try:
        document = await fetch_object(node, in_reply_to)
        owner_id = id_of(document.get("attributedTo"))
        if not owner_id or authority(owner_id) != authority(in_reply_to):
            raise CommentError("the object has no owner on its own host", field="in_reply_to")
        owner = await get_actor(node, owner_id)
    except (FetchError, ResolveError) as exc:
        raise CommentError(f"cannot find {in_reply_to}: {exc}", field="in_reply_to") from None
    context = id_of(document.get("context"))
    if not context or authority(context) != authority(in_reply_to):
        context = in_reply_to
    return Target(in_reply_to, context, owner)


def _mention(owner: Actor) -> tuple[dict[str, str], str]:
    name = f"@{owner.handle}@{owner.domain}"
    tag = {"type": "Mention", "href": owner.ap_id, "name": name}
    link = escape(owner.url or owner.ap_id, quote=True)
    html = (
        f'<span class="h-card" translate="no"><a href="{link}" class="u-url mention">'
        f"@<span>{escape(owner.handle)}</span></a></span>"
    )
    return tag, html


def note(
    node: Node,
    author: Actor,
    target: Target,
    text: str,
    *,
    note_id: str,
    published: str,
    updated: str | None = None,
    language: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """The comment as a Note, like our posts: hashtags linked to our tag pages and listed as
    ``Hashtag`` tags, and ``contentMap`` in its language (Mastodon reads the language there)."""
    tag, mention_html = _mention(target.owner)
    link_for = tag_url_function(f"{node.urls.base}/tags", note_id)
    body = text_to_html(text, tag_url=link_for)
    # Mastodon shows the mention inline, as its own clients write it: at the start of the text.
    content = body.replace("<p>", f"<p>{mention_html} ", 1) if body else f"<p>{mention_html}</p>"
    cc = [author.followers_url] if author.followers_url else []
    if target.owner.ap_id != author.ap_id:
        cc.append(target.owner.ap_id)
    doc: dict[str, Any] = {
        "id": note_id,
        "type": "Note",
        "attributedTo": author.ap_id,
        "inReplyTo": target.id,
        "context": target.context,
        "content": content,
        "contentMap": {language: content},
        "source": {"content": text, "mediaType": "text/plain"},
        "published": published,
        "url": note_id,
        "to": [PUBLIC],
        "cc": cc,
        "tag": [tag, *(Hashtag(name, link_for(name)).to_ap() for name in hashtags_in(text))],
    }
    if updated:
        doc["updated"] = updated
    return doc


def _check_language(language: Any) -> str:
    if language is None:
        return DEFAULT_LANGUAGE
    try:
        return canonical_language(language)
    except ValueError as exc:
        raise CommentError(f"{exc}", field="language") from None


def language_of(document: dict[str, Any]) -> str:
    """The language a stored comment was written in (its contentMap's key)."""
    for key in document.get("contentMap") or {}:
        return str(key)
    return DEFAULT_LANGUAGE


def _check_text(text: Any) -> str:
    if not isinstance(text, str) or not text.strip():
        raise CommentError(REQUIRED, field="content")
    if len(text) > MAX_LENGTH:
        raise CommentError(TOO_LONG, field="content", limit=MAX_LENGTH)
    return text.strip()


async def _inboxes(session: AsyncSession, author: Actor, owner: Actor) -> list[str]:
    inboxes = await follow_queries.follower_inboxes(session, author.id)
    if not owner.local and owner.inbox:
        inboxes.append(owner.inbox)
    return inboxes


async def _send(
    session: AsyncSession, node: Node, author: Actor, owner: Actor, kind: str, obj: dict[str, Any]
) -> None:
    activity = {
        "id": node.urls.new_activity_id(),
        "type": kind,
        "actor": author.ap_id,
        "published": format_datetime(utcnow()),
        "to": [PUBLIC],
        "cc": obj.get("cc", []),
        "object": obj,
    }
    await outbox.enqueue(
        session, node, author, activity, await _inboxes(session, author, owner), public=True
    )


async def comment(
    node: Node,
    author: Actor,
    in_reply_to: str,
    text: Any,
    *,
    language: Any = None,
    attachments: Sequence[int] = (),
) -> Object:
    """Reply to ``in_reply_to``; ``attachments`` are ids of this city's uploads (documents such as
    a tender's PDF, or images) sent with the comment as ``Document``/``Image`` attachments."""
    text = _check_text(text)
    language = _check_language(language)
    if not isinstance(in_reply_to, str) or not in_reply_to.startswith(("https://", "http://")):
        raise CommentError("expected the id (URL) of the object answered", field="in_reply_to")
    target = await resolve_target(node, in_reply_to)
    now = utcnow()
    note_id = node.urls.new_object_id("comments")
    doc = note(
        node,
        author,
        target,
        text,
        note_id=note_id,
        published=format_datetime(now),
        language=language,
    )
    async with node.db.transaction() as session:
        row = Object(
            ap_id=note_id,
            type="Note",
            actor_id=author.id,
            local=True,
            document=doc,
            in_reply_to=target.id,
            context=target.context,
            published=now,
            state=CommentState.PUBLISHED,
        )
        session.add(row)
        await session.flush()
        if attachments:
            doc = {
                **doc,
                "attachment": await link_to_comment(session, node, author, row.id, attachments),
            }
            row.document = doc
        await _send(session, node, author, target.owner, "Create", doc)
    log.info("@%s commented on %s", author.handle, target.id)
    return row


async def _own_comment(session: AsyncSession, author: Actor, note_id: str) -> Object:
    row = await object_queries.by_ap_id(session, note_id)
    if (
        row is None
        or not row.local
        or row.type != "Note"
        or row.actor_id != author.id
        or row.deleted_at is not None
    ):
        raise LookupError(note_id)
    return row


async def edit(node: Node, author: Actor, note_id: str, text: Any) -> Object:
    text = _check_text(text)
    async with node.db.session() as session:
        row = await _own_comment(session, author, note_id)
    target = await resolve_target(node, row.in_reply_to or "")
    async with node.db.transaction() as session:
        row = await _own_comment(session, author, note_id)
        now = max(utcnow(), (row.updated or row.published) + timedelta(milliseconds=1))
        doc = note(
            node,
            author,
            target,
            text,
            note_id=note_id,
            published=row.document["published"],
            updated=format_datetime(now),
            language=language_of(row.document),
        )
        if "attachment" in row.document:  # editing the text keeps the files
            doc["attachment"] = row.document["attachment"]
        row.document = doc
        row.updated = now
        await _send(session, node, author, target.owner, "Update", doc)
    return row


async def delete(node: Node, author: Actor, note_id: str) -> None:
    async with node.db.session() as session:
        row = await _own_comment(session, author, note_id)
    target = await resolve_target(node, row.in_reply_to or "")
    async with node.db.transaction() as session:
        row = await _own_comment(session, author, note_id)
        row.deleted_at = utcnow()
        tombstone = {
            "id": note_id,
            "type": "Tombstone",
            "formerType": former_type("Note"),
            "deleted": format_datetime(row.deleted_at),
            "cc": row.document.get("cc", []),
        }
        await _send(session, node, author, target.owner, "Delete", tombstone)
        orphans = await media_queries.release_object_media(session, row.id)
    await forget_with_settings(node.settings, orphans)
