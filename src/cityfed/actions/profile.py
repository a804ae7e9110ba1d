"""A city's profile (issue 16): display name, bio, profile fields, avatar and header.

Every change is one function here, called by the CLI, the REST API and the staff pages alike. It
changes the rows and enqueues ``Update{Organization}`` (the full actor document) to the city's
followers in the same transaction, so a follower's copy never lags a committed change.

Links in fields are verified as Mastodon verifies them (``federation/relme.py``), after the change
is committed, since that needs a fetch per link; the outcome is recorded on the field and shown
on our pages. It is not federated (Mastodon does not federate it either: each server checks the
links of the profiles it shows), so recording it sends nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cityfed.activitypub import profile as vocab
from cityfed.activitypub.jsonld import PUBLIC
from cityfed.activitypub.profile import ProfileError
from cityfed.federation import outbox, relme
from cityfed.federation.actor_document import actor_document
from cityfed.media.uploads import MediaLibrary
from cityfed.models import follows as follow_queries
from cityfed.models import media as media_queries
from cityfed.models import profile as profile_queries
from cityfed.models.profile import ImageRole
from cityfed.models.tables import Actor, AuditEntry
from cityfed.models.types import utcnow
from cityfed.node import Node

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("cityfed.actions.profile")

__all__ = [
    "FieldView",
    "ImageRole",
    "ImageView",
    "ProfileError",
    "ProfileView",
    "read",
    "set_image",
    "update",
    "verify_fields",
]


@dataclass(frozen=True, slots=True)
class FieldView:
    name: str
    value: str
    value_html: str
    link: str | None
    verified_at: datetime | None


@dataclass(frozen=True, slots=True)
class ImageView:
    url: str
    media_type: str
    alt_text: str | None
    width: int | None
    height: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "media_type": self.media_type,
            "alt_text": self.alt_text,
            "width": self.width,
            "height": self.height,
        }


@dataclass(frozen=True, slots=True)
class ProfileView:
    """A city's profile as the faces show it."""

    handle: str
    display_name: str
    bio: str  # Markdown, as staff wrote it
    bio_html: str  # what is sent and shown
    fields: tuple[FieldView, ...]
    avatar: ImageView | None
    header: ImageView | None

    def to_json(self) -> dict[str, Any]:
        """The shape the API answers and ``cityfed profile show --json`` prints."""
        return {
            "handle": self.handle,
            "display_name": self.display_name,
            "bio": self.bio,
            "bio_html": self.bio_html,
            "fields": [
                {
                    "name": f.name,
                    "value": f.value,
                    "value_html": f.value_html,
                    "verified_at": f.verified_at.isoformat() if f.verified_at else None,
                }
                for f in self.fields
            ],
            "avatar": self.avatar.to_json() if self.avatar else None,
            "header": self.header.to_json() if self.header else None,
        }


async def read_in(session: AsyncSession, node: Node, actor: Actor) -> ProfileView:
    """The profile of local ``actor``, read in the caller's session (fresh: the row passed in
    may be older than a change just made)."""
    actor = await session.get(Actor, actor.id, populate_existing=True) or actor
    rows = await profile_queries.fields_of(session, actor.id)
    images = await profile_queries.images_of(session, actor.id)

    def image(role: ImageRole) -> ImageView | None:
        found = images.get(role)
        if found is None:
            return None
        return ImageView(
            node.urls.media(found.file.storage_key),
            found.file.media_type,
            found.media.alt_text,
            found.file.width,
            found.file.height,
        )

    return ProfileView(
        handle=actor.handle,
        display_name=actor.name or actor.handle,
        bio=actor.summary_source or "",
        bio_html=actor.summary or "",
        fields=tuple(
            FieldView(
                row.name,
                row.value,
                vocab.field_value_html(row.value),
                vocab.link_of(row.value),
                row.verified_at,
            )
            for row in rows
        ),
        avatar=image(ImageRole.AVATAR),
        header=image(ImageRole.HEADER),
    )


async def read(node: Node, actor: Actor) -> ProfileView:
    async with node.db.session() as session:
        return await read_in(session, node, actor)


async def announce(session: AsyncSession, node: Node, actor: Actor) -> None:
    """Enqueue ``Update{actor}`` with the actor's current document to its followers (in the
    caller's transaction), as Mastodon announces a profile change."""
    document = await actor_document(session, node, actor)
    context = document.pop("@context")
    update_activity = {
        "@context": context,
        "id": node.urls.new_activity_id(),
        "type": "Update",
        "actor": actor.ap_id,
        "to": [PUBLIC],
        "cc": [actor.followers_url] if actor.followers_url else [],
        "object": document,
    }
    inboxes = await follow_queries.follower_inboxes(session, actor.id)
    await outbox.enqueue(session, node, actor, update_activity, inboxes, public=True)


async def update(
    node: Node,
    actor: Actor,
    *,
    who: str,
    display_name: str | None = None,
    bio: str | None = None,
    fields: list[tuple[str, str]] | None = None,
) -> Actor:
    """Change what is given (None leaves a part as it is; ``bio=""`` and ``fields=[]`` clear).
    Raises ``ProfileError`` before anything is stored."""
    name = vocab.check_display_name(display_name) if display_name is not None else None
    source = vocab.check_bio(bio) if bio is not None else None
    checked = vocab.check_fields(fields) if fields is not None else None
    async with node.db.transaction() as session:
        row = await session.get(Actor, actor.id, populate_existing=True)
        if row is None or not row.local:
            raise ProfileError("actor", "no such local city")
        changed = []
        if name is not None:
            row.name = name
            changed.append("display_name")
        if source is not None:
            row.summary_source = source or None
            row.summary = vocab.render_bio(source) or None
            changed.append("bio")
        if checked is not None:
            await profile_queries.replace_fields(
                session, row.id, [(f.name, f.value) for f in checked]
            )
            changed.append("fields")
        if not changed:
            return row
        row.updated_at = utcnow()
        await session.flush()
        await announce(session, node, row)
        session.add(
            AuditEntry(
                who=who, action="profile.update", target=row.ap_id, detail={"changed": changed}
            )
        )
    log.info("profile of %s changed (%s) by %s", row.ap_id, ", ".join(changed), who)
    return row


async def set_image(
    node: Node,
    actor: Actor,
    role: ImageRole,
    data: bytes | None,
    *,
    who: str,
    alt_text: str | None = None,
    library: MediaLibrary | None = None,
) -> ImageView | None:
    """Make ``data`` the city's avatar or header (``None`` removes it). The image goes through
    the media core (decoded, stripped, re-encoded; ``MediaRejected`` with nothing stored if it
    is refused); the previous one is deleted with its files once the change is committed."""
    own = library is None
    lib = library or MediaLibrary.from_settings(node.settings, node.db)
    try:
        media = None
        if data is not None:
            alt = alt_text or f"{role.value.capitalize()} of {actor.name or actor.handle}"
            media = await lib.upload_image(actor.id, data, alt_text=alt)
        try:
            async with node.db.transaction() as session:
                row = await session.get(Actor, actor.id, populate_existing=True)
                if row is None or not row.local:
                    raise ProfileError("actor", "no such local city")
                if (
                    media is None
                    and await profile_queries.image_media_id(session, row.id, role) is None
                ):
                    return None  # nothing to remove, nothing to announce
                old = await profile_queries.set_image(
                    session, row.id, role, media.id if media else None
                )
                gone = await media_queries.delete_media(session, [old]) if old else []
                view = await read_in(session, node, row)
                shown = view.avatar if role == ImageRole.AVATAR else view.header
                if role == ImageRole.AVATAR:
                    row.icon_url = shown.url if shown else None
                else:
                    row.header_url = shown.url if shown else None
                row.updated_at = utcnow()
                await session.flush()
                await announce(session, node, row)
                session.add(
                    AuditEntry(
                        who=who,
                        action=f"profile.{role.value}",
                        target=row.ap_id,
                        detail={"media": media.id if media else None},
                    )
                )
        except BaseException:
            if media is not None:  # nothing may stay half-way: the upload goes again
                await lib.delete([media.id])
            raise
        await lib.forget(gone)
    finally:
        if own:
            await lib.close()
    log.info(
        "%s of %s %s by %s",
        role.value,
        actor.ap_id,
        f"set to media {media.id}" if media else "removed",
        who,
    )
    return shown


async def verify_fields(node: Node, actor: Actor, *, only_unverified: bool = False) -> int:
    """Check the links of the city's fields for a ``rel="me"`` link back (all at once, each
    within the fetch limits) and record the outcome; returns how many are verified. Needs the
    node's HTTP client. ``only_unverified`` skips fields already verified (what Mastodon does
    after each profile save); without it a link that lost its back-link loses its mark."""
    allow_http = node.settings.scheme == "http"
    async with node.db.session() as session:
        rows = await profile_queries.fields_of(session, actor.id)
    targets = [
        (row, url)
        for row in rows
        if (url := vocab.verifiable(row.value, allow_http=allow_http)) is not None
        and not (only_unverified and row.verified_at is not None)
    ]
    back = [node.urls.profile(actor.handle), actor.ap_id]
    if actor.url:
        back.append(actor.url)
    outcomes = await asyncio.gather(*(relme.verify_link(node, url, back) for _row, url in targets))
    now = utcnow()
    async with node.db.transaction() as session:
        for (row, url), ok in zip(targets, outcomes, strict=True):
            await profile_queries.record_check(
                session, row.id, row.value, verified_at=now if ok else None, at=now
            )
            log.info(
                "profile link %s of %s: %s", url, actor.ap_id, "verified" if ok else "not verified"
            )
    async with node.db.session() as session:
        rows = await profile_queries.fields_of(session, actor.id)
    return sum(1 for row in rows if row.verified_at is not None)
