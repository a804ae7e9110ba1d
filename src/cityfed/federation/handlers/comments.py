"""Comments arriving from partner cities and Mastodon-style servers (§5 Comment).

A reply to something we keep joins its thread. When the thread is one of ours, the comment is
held for moderation if the city asks for that and the sender is not a trusted peer; a published,
public comment on our thread is forwarded byte for byte to our followers (AP §7.1.2), so partners
who do not follow the commenter still see the whole discussion.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from cityfed.activitypub.actor import authority
from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.sanitize import sanitize_html
from cityfed.activitypub.vocab.common import as_list, id_of, parse_datetime
from cityfed.federation import outbox
from cityfed.federation.handlers.base import Context, Ignore, Refuse
from cityfed.federation.notify import notify, title, who
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models import objects as object_queries
from cityfed.models.notifications import Kind
from cityfed.models.states import CommentState
from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.handlers.comments")

PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})


def is_public(activity: dict[str, Any]) -> bool:
    obj = activity.get("object")
    audience = as_list(activity.get("to")) + as_list(activity.get("cc"))
    if isinstance(obj, dict):
        audience += as_list(obj.get("to")) + as_list(obj.get("cc"))
    return any(id_of(entry) in PUBLIC_ALIASES for entry in audience)


def clean(obj: dict[str, Any]) -> dict[str, Any]:
    """The note as we keep it: HTML sanitised, everything else as the sender wrote it."""
    doc = dict(obj)
    doc.pop("@context", None)
    if isinstance(doc.get("content"), str):
        doc["content"] = sanitize_html(doc["content"])
    if isinstance(doc.get("contentMap"), dict):
        doc["contentMap"] = {
            lang: sanitize_html(text)
            for lang, text in doc["contentMap"].items()
            if isinstance(text, str)
        }
    return doc


def _note(ctx: Context) -> dict[str, Any]:
    obj = ctx.activity.get("object")
    assert isinstance(obj, dict)
    note_id = id_of(obj)
    if not note_id or authority(note_id) != ctx.sender.domain:
        raise Refuse("a comment must live on its author's host")
    if id_of(obj.get("attributedTo")) != ctx.sender.ap_id:
        raise Refuse("a comment must be attributed to its sender")
    return obj


async def thread_owner(session: AsyncSession, parent: Object) -> Actor | None:
    """Our local actor when the thread (its root, else the parent) is one of ours."""
    root = parent
    if parent.context and parent.context != parent.ap_id:
        root = await object_queries.by_ap_id(session, parent.context) or parent
    if not root.local:
        return None
    owner = await session.get(Actor, root.actor_id)
    return owner if owner is not None and owner.local else None


async def forward(ctx: Context, owner: Actor) -> None:
    """Send the activity exactly as received to our followers (not back to its author)."""
    inboxes = await follow_queries.follower_inboxes(ctx.session, owner.id)
    await outbox.forward(
        ctx.session, ctx.node, owner, ctx.sender, ctx.activity, ctx.raw, inboxes, public=True
    )
    log.info(
        "forwarding %s by %s to followers of @%s",
        ctx.activity.get("id"),
        ctx.sender.ap_id,
        owner.handle,
    )


async def on_create(ctx: Context) -> None:
    obj = _note(ctx)
    note_id = id_of(obj) or ""
    parent_id = id_of(obj.get("inReplyTo")) or ""
    parent = await object_queries.by_ap_id(ctx.session, parent_id)
    if parent is None or parent.deleted_at is not None:
        raise Ignore(f"reply to {parent_id}, which we do not keep")
    if await object_queries.by_ap_id(ctx.session, note_id) is not None:
        raise Ignore(f"{note_id} is known already")
    owner = await thread_owner(ctx.session, parent)
    held = (
        owner is not None
        and owner.moderate_comments
        and not ctx.node.policy.is_trusted(ctx.sender.domain)
    )
    row = Object(
        ap_id=note_id,
        type="Note",
        actor_id=ctx.sender.id,
        local=False,
        document=clean(obj),
        in_reply_to=parent.ap_id,
        context=parent.context or parent.ap_id,
        published=parse_datetime(obj.get("published"), "published") or utcnow(),
        state=CommentState.HELD if held else CommentState.PUBLISHED,
        activity_ap_id=ctx.activity.get("id"),
    )
    ctx.session.add(row)
    await ctx.session.flush()
    log.info("comment %s by %s on %s (%s)", note_id, ctx.sender.ap_id, parent.ap_id, row.state)
    await _notify(ctx, obj, row, parent, owner)
    if owner is not None and not held and is_public(ctx.activity):
        await forward(ctx, owner)


async def _mentions_us(ctx: Context, obj: dict[str, Any]) -> bool:
    for tag in as_list(obj.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Mention":
            actor = await actor_queries.actor_by_ap_id(ctx.session, id_of(tag.get("href")) or "")
            if actor is not None and actor.local:
                return True
    return False


async def _notify(
    ctx: Context, obj: dict[str, Any], row: Object, parent: Object, owner: Actor | None
) -> None:
    """A comment in one of our threads (held ones too: they wait for staff), else a mention."""
    held = " (held for moderation)" if row.state == "held" else ""
    if owner is not None:
        kind = Kind.COMMENT
        summary = f"{who(ctx.sender)} commented on {title(parent)}{held}"
    elif await _mentions_us(ctx, obj):
        kind = Kind.MENTION
        summary = f"{who(ctx.sender)} mentioned your city{held}"
    else:
        return
    link = parent.ap_id if owner is not None else row.ap_id
    await notify(ctx.session, kind, summary, actor=ctx.sender, obj=row, link=link)


async def on_update(ctx: Context) -> None:
    obj = _note(ctx)
    row = await object_queries.by_ap_id(ctx.session, id_of(obj) or "")
    if row is None or row.deleted_at is not None:
        raise Ignore("Update of a comment we do not keep")
    if row.actor_id != ctx.sender.id:
        raise Refuse("only its author may edit a comment")
    updated = parse_datetime(obj.get("updated"), "updated")
    known = row.updated or row.published
    if updated is None or updated <= known:
        raise Ignore(f"stale Update of {row.ap_id}")
    row.document = clean(obj)
    row.updated = updated
    parent = await object_queries.by_ap_id(ctx.session, row.in_reply_to or "")
    owner = await thread_owner(ctx.session, parent) if parent is not None else None
    if owner is not None and row.state == CommentState.PUBLISHED and is_public(ctx.activity):
        await forward(ctx, owner)


async def after_delete(ctx: Context, row: Object) -> None:
    """A deleted comment on our thread: pass the Delete on to those we forwarded it to."""
    if row.type != "Note" or not row.in_reply_to:
        return
    parent = await object_queries.by_ap_id(ctx.session, row.in_reply_to)
    owner = await thread_owner(ctx.session, parent) if parent is not None else None
    if owner is not None and row.state == CommentState.PUBLISHED:
        await forward(ctx, owner)
