"""Our actors as ActivityStreams documents, built from the database (used by the actor route, by
key rotation and by profile changes, which announce the new document)."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric import ed25519
from sqlalchemy.ext.asyncio import AsyncSession

from cityfed.activitypub.actor import LocalActorDocument, MultikeyInfo, PublicKeyInfo
from cityfed.activitypub.multikey import encode_ed25519
from cityfed.activitypub.profile import Field, ImageRef
from cityfed.keys.generate import load_public_pem
from cityfed.models import actors as actor_queries
from cityfed.models import profile as profile_queries
from cityfed.models.tables import Actor
from cityfed.models.types import utcnow
from cityfed.node import Node


async def actor_document(session: AsyncSession, node: Node, actor: Actor) -> dict[str, Any]:
    now = utcnow()
    rsa_keys = await actor_queries.valid_keys(session, actor.id, "rsa", now)
    ed_keys = await actor_queries.valid_keys(session, actor.id, "ed25519", now)
    current_rsa = next((k for k in rsa_keys if k.retired_at is None), rsa_keys[0])
    previous = tuple(
        PublicKeyInfo(k.key_id, actor.ap_id, k.public_pem, k.expires_at)
        for k in rsa_keys
        if k is not current_rsa
    )
    multikeys = []
    for key in ed_keys:
        public = load_public_pem(key.public_pem)
        if isinstance(public, ed25519.Ed25519PublicKey):
            multikeys.append(MultikeyInfo(key.key_id, actor.ap_id, encode_ed25519(public)))
    is_city = actor.type != "Application"
    handle = actor.handle
    fields: tuple[Field, ...] = ()
    icon = image = None
    if is_city:
        fields = tuple(
            Field(row.name, row.value) for row in await profile_queries.fields_of(session, actor.id)
        )
        images = await profile_queries.images_of(session, actor.id)
        avatar = images.get(profile_queries.ImageRole.AVATAR)
        header = images.get(profile_queries.ImageRole.HEADER)
        if avatar is not None:
            icon = ImageRef(node.urls.media(avatar.file.storage_key), avatar.file.media_type)
        if header is not None:
            image = ImageRef(node.urls.media(header.file.storage_key), header.file.media_type)
    doc = LocalActorDocument(
        id=actor.ap_id,
        type=actor.type,
        handle=handle,
        name=actor.name or handle,
        summary_html=actor.summary or "",
        url=actor.url or actor.ap_id,
        inbox=actor.inbox or node.urls.shared_inbox,
        # The instance actor (GET /actor) follows no one and has no followers: no such links,
        # and an outbox that is always empty (/actor/outbox).
        outbox=(actor.outbox or node.urls.outbox(handle)) if is_city else f"{actor.ap_id}/outbox",
        followers=(actor.followers_url or f"{actor.ap_id}/followers") if is_city else None,
        following=(actor.following_url or f"{actor.ap_id}/following") if is_city else None,
        featured=node.urls.featured(handle) if is_city else None,
        shared_inbox=node.urls.shared_inbox,
        public_key=PublicKeyInfo(current_rsa.key_id, actor.ap_id, current_rsa.public_pem),
        assertion_methods=tuple(multikeys),
        previous_keys=previous,
        published=actor.created_at,
        manually_approves_followers=actor.manually_approves_followers,
        icon=icon,
        image=image,
        fields=fields,
        official_identifier=actor.official_identifier,
        discoverable=is_city,
        updated=actor.updated_at if is_city else None,
    )
    return doc.to_ap()
