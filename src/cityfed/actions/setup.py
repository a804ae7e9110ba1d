"""Creating this node's actors: the instance actor and local city actors, each with fresh keys."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cityfed.actions.errors import ActionError
from cityfed.activitypub import profile as vocab
from cityfed.keys.generate import KeyPairPem, generate_ed25519, generate_rsa
from cityfed.models import actors as actor_queries
from cityfed.models import profile as profile_queries
from cityfed.models.tables import Actor, Key
from cityfed.urls import Urls

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

HANDLE = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]{0,61}[a-z0-9_])?$")  # Mastodon: no trailing . or -


class SetupError(ActionError):
    """The city cannot be set up as asked (bad handle or name, or it exists already)."""


def _add_keys(
    session: AsyncSession,
    actor: Actor,
    urls: Urls,
    rsa: KeyPairPem | None = None,
    ed: KeyPairPem | None = None,
) -> None:
    rsa = rsa or generate_rsa()
    ed = ed or generate_ed25519()
    session.add(
        Key(
            actor_id=actor.id,
            key_id=urls.rsa_key_id(actor.ap_id),
            kind="rsa",
            public_pem=rsa.public_pem,
            private_pem=rsa.private_pem,
        )
    )
    session.add(
        Key(
            actor_id=actor.id,
            key_id=urls.ed25519_key_id(actor.ap_id),
            kind="ed25519",
            public_pem=ed.public_pem,
            private_pem=ed.private_pem,
        )
    )


async def ensure_instance_actor(
    session: AsyncSession, urls: Urls, hostname: str, domain: str
) -> Actor:
    """The Application actor at /actor that signs our GETs and reports (like Mastodon's)."""
    existing = await actor_queries.instance_actor(session)
    if existing is not None:
        return existing
    actor = Actor(
        ap_id=urls.instance_actor,
        local=True,
        type="Application",
        handle=hostname,
        domain=domain,
        name=f"{domain} (cityfed)",
        url=f"{urls.base}/",
        inbox=f"{urls.instance_actor}/inbox",
        shared_inbox=urls.shared_inbox,
        outbox=f"{urls.instance_actor}/outbox",
        manually_approves_followers=True,
    )
    session.add(actor)
    await session.flush()
    _add_keys(session, actor, urls)
    return actor


async def create_local_actor(
    session: AsyncSession,
    urls: Urls,
    domain: str,
    handle: str,
    name: str,
    *,
    summary: str | None = None,
    manually_approves_followers: bool = False,
    website: str | None = None,
    contact: str | None = None,
    fields: list[tuple[str, str]] | None = None,
    official_identifier: str | None = None,
    keys: tuple[KeyPairPem, KeyPairPem] | None = None,
) -> Actor:
    """A city (or unit of it) as an Organization actor with RSA and Ed25519 keys.

    Its first profile: ``summary`` is the bio in Markdown; ``website`` and ``contact`` become the
    first profile fields, followed by ``fields`` (name, value)."""
    handle = handle.strip().lower()
    if not HANDLE.match(handle):
        raise SetupError("handle: 1-63 of a-z, 0-9, '_', '.', '-', not ending in '.' or '-'")
    if not name.strip():
        raise SetupError("name must not be empty")
    pairs = [("Website", website), ("Contact", contact)]
    wanted = [(n, v) for n, v in pairs if v and v.strip()] + list(fields or [])
    try:
        name = vocab.check_display_name(name)
        bio = vocab.check_bio(summary) if summary else None
        checked = vocab.check_fields(wanted)
    except vocab.ProfileError as exc:
        raise SetupError(str(exc)) from None
    if await actor_queries.local_actor(session, handle) is not None:
        raise SetupError(f"a local actor @{handle} exists already")
    actor_id = urls.actor(handle)
    actor = Actor(
        ap_id=actor_id,
        local=True,
        type="Organization",
        handle=handle,
        domain=domain,
        name=name,
        summary=vocab.render_bio(bio) or None,
        summary_source=bio,
        url=urls.profile(handle),
        inbox=urls.inbox(handle),
        shared_inbox=urls.shared_inbox,
        outbox=urls.outbox(handle),
        followers_url=urls.followers(handle),
        following_url=urls.following(handle),
        manually_approves_followers=manually_approves_followers,
        official_identifier=official_identifier,
    )
    session.add(actor)
    await session.flush()
    await profile_queries.replace_fields(session, actor.id, [(f.name, f.value) for f in checked])
    rsa, ed = keys if keys else (None, None)
    _add_keys(session, actor, urls, rsa, ed)
    await session.flush()
    return actor
