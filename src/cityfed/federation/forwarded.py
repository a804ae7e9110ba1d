"""Accepting an activity that reached us through a third server (inbox forwarding, §3 step 3).

The HTTP signature proves only who forwarded it, so the author's own signature must be found:
cheapest first, a FEP-8b32 integrity proof by one of the actor's ``assertionMethod`` keys, then a
Mastodon-style LD signature by the actor's RSA key, and only then the origin itself is asked: the
object must exist there, by that author, for a Create or Update (we then use the origin's copy),
and must be gone for a Delete. Anything that passes none of these is refused.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub import ldsig, proof
from cityfed.activitypub.actor import ActorParseError, RemoteActor, authority
from cityfed.activitypub.vocab.common import first_of, id_of
from cityfed.federation.fetch import FetchError, fetch_object
from cityfed.federation.handlers.base import Refuse
from cityfed.federation.remote import ResolveError, get_actor, resolve_key
from cityfed.node import Node

log = logging.getLogger("cityfed.forwarded")

# Without an object signature, only these can be checked by asking the origin.
FORWARDABLE = frozenset({"Create", "Update", "Delete"})


def may_arrive_forwarded(activity: dict[str, Any]) -> bool:
    """Worth storing for verification: it can be checked by signature or at the origin."""
    return (
        proof.proof_of(activity) is not None
        or ldsig.creator_of(activity) is not None
        or first_of(activity.get("type")) in FORWARDABLE
    )


async def _by_proof(node: Node, activity: dict[str, Any], actor_id: str) -> bool:
    method = proof.verification_method(activity)
    if not method:
        return False
    try:
        actor = await get_actor(node, actor_id)
        multikeys = RemoteActor.from_ap(actor.document or {}).multikeys
        key = proof.resolve_key(method, actor_id, multikeys)
        proof.verify(activity, key)
    except (ResolveError, ActorParseError, proof.ProofError) as exc:
        log.info("proof on %s not accepted: %s", activity.get("id"), exc)
        return False
    return True


async def _by_ld_signature(node: Node, activity: dict[str, Any], actor_id: str) -> bool:
    creator = ldsig.creator_of(activity)
    if not creator:
        return False
    try:
        key = await resolve_key(node, creator)
        if key.owner != actor_id:
            raise ldsig.LdSignatureError(f"{creator} belongs to {key.owner}, not {actor_id}")
        ldsig.verify(activity, key.public_key)
    except (ResolveError, ldsig.LdSignatureError) as exc:
        log.info("LD signature on %s not accepted: %s", activity.get("id"), exc)
        return False
    return True


async def verify_forwarded(node: Node, activity: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The activity to apply and how it was verified ("proof", "ld-signature", "refetch")."""
    actor_id = id_of(activity.get("actor")) or ""
    if await _by_proof(node, activity, actor_id):
        return activity, "proof"
    if await _by_ld_signature(node, activity, actor_id):
        return activity, "ld-signature"
    return await verify_by_refetch(node, activity), "refetch"


async def verify_by_refetch(node: Node, activity: dict[str, Any]) -> dict[str, Any]:
    """The activity with its object as the origin serves it; Refuse when the claim is false."""
    actor_id = id_of(activity.get("actor")) or ""
    kind = first_of(activity.get("type"))
    object_id = id_of(activity.get("object"))
    if kind not in FORWARDABLE or not object_id:
        raise Refuse(f"a forwarded {kind} without a valid signature of its author")
    if authority(object_id) != authority(actor_id):
        raise Refuse("the forwarded object is not on its author's host")
    try:
        fetched = await fetch_object(node, object_id)
    except FetchError as exc:
        if kind == "Delete" and exc.gone:
            return activity  # the origin confirms the deletion
        if exc.gone:
            raise Refuse(f"{object_id} does not exist at its origin: forged or deleted") from None
        raise  # the origin is unreachable: try again later
    if kind == "Delete":
        raise Refuse(f"{object_id} still exists at its origin")
    if id_of(fetched.get("attributedTo")) != actor_id:
        raise Refuse(f"{object_id} at its origin is not by {actor_id}")
    return {**activity, "object": fetched}
