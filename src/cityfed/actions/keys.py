"""Key rotation (§5): new RSA and Ed25519 keys, announced by an Update signed with the old key.

The old keys stay listed (with their expiry) and verifiable for a grace period, so activities
signed before the rotation, and peers that have not yet processed the Update, still verify; after
the grace period nobody should accept them, and our actor document no longer lists them.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from cityfed.activitypub.jsonld import PUBLIC
from cityfed.federation import outbox
from cityfed.federation.actor_document import actor_document
from cityfed.keys.generate import generate_ed25519, generate_rsa
from cityfed.models import actors as actor_queries
from cityfed.models import follows as follow_queries
from cityfed.models.tables import Actor, AuditEntry, Key
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.actions.keys")

DEFAULT_GRACE = timedelta(days=7)


class RotationError(RuntimeError):
    """A key rotation cannot be done now."""


async def rotate(
    node: Node, actor: Actor, *, who: str, grace: timedelta = DEFAULT_GRACE
) -> tuple[str, str]:
    """Rotate ``actor``'s keys; returns (old RSA key id, new RSA key id)."""
    rsa, ed = generate_rsa(), generate_ed25519()  # slow: before the transaction
    now = utcnow()
    async with node.db.transaction() as session:
        old_rsa = await actor_queries.signing_key(session, actor.id, "rsa")
        old_ed = await actor_queries.signing_key(session, actor.id, "ed25519")
        if old_rsa is None:
            raise RotationError(f"{actor.ap_id} has no current key to rotate")
        for old in (old_rsa, old_ed):
            if old is not None:
                old.retired_at = now
                old.expires_at = now + grace
        generation = 1 + await actor_queries.count_keys(session, actor.id, "rsa")
        new_rsa_id = node.urls.rsa_key_id(actor.ap_id, generation)
        session.add(
            Key(
                actor_id=actor.id,
                key_id=new_rsa_id,
                kind="rsa",
                public_pem=rsa.public_pem,
                private_pem=rsa.private_pem,
            )
        )
        session.add(
            Key(
                actor_id=actor.id,
                key_id=node.urls.ed25519_key_id(actor.ap_id, generation),
                kind="ed25519",
                public_pem=ed.public_pem,
                private_pem=ed.private_pem,
            )
        )
        await session.flush()
        row = await session.get(Actor, actor.id)
        assert row is not None
        document = await actor_document(session, node, row)
        # The embedded actor's keys need its context (DID, Multikey): the Update carries it.
        context = document.pop("@context")
        update = {
            "@context": context,
            "id": node.urls.new_activity_id(),
            "type": "Update",
            "actor": actor.ap_id,
            "to": [PUBLIC],
            "cc": [actor.followers_url] if actor.followers_url else [],
            "object": document,
        }
        inboxes = await follow_queries.follower_inboxes(session, actor.id)
        activity = await outbox.enqueue(session, node, row, update, inboxes, public=True)
        # Followers know the old key: the announcement must verify with what they have.
        activity.signing_key_id = old_rsa.key_id
        session.add(
            AuditEntry(
                who=who,
                action="keys.rotate",
                target=actor.ap_id,
                detail={
                    "old": old_rsa.key_id,
                    "new": new_rsa_id,
                    "grace_seconds": int(grace.total_seconds()),
                },
            )
        )
    node.keys.forget(actor.id)
    log.info(
        "rotated keys of %s: %s -> %s (old valid until %s)",
        actor.ap_id,
        old_rsa.key_id,
        new_rsa_id,
        (now + grace).isoformat(),
    )
    return old_rsa.key_id, new_rsa_id
