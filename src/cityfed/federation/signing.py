"""Object-level signatures on our outgoing activities, so they stay verifiable when forwarded.

Every activity of a local actor carries a FEP-8b32 integrity proof (eddsa-jcs-2022, cheap); public
ones also carry a Mastodon-style RsaSignature2017 LD signature for relays and servers that only
know those. In Fedify's order: the proof first, then the LD signature over the document with its
proof, which is what Fedify and Mastodon hash (everything but ``signature``); FEP-8b32 verifiers
drop ``signature`` before checking the proof. Both are computed once per activity, before it is
serialised once for every inbox.
"""

from __future__ import annotations

import logging
from typing import Any

from cityfed.activitypub import ldsig, proof
from cityfed.activitypub.ldsig import LdSignatureError
from cityfed.models.tables import Actor
from cityfed.node import MissingKeyError, Node

log = logging.getLogger("cityfed.signing")


async def sign_activity(
    node: Node, sender: Actor, document: dict[str, Any], *, public: bool
) -> dict[str, Any]:
    if "proof" in document or "signature" in document:
        return document  # signed already: never sign twice
    base = {**document, "@context": proof.with_data_integrity_context(document["@context"])}
    try:
        ed = await node.signing_key(sender.id, "ed25519")
        signed = proof.sign(base, ed.private_key, ed.key_id)  # type: ignore[arg-type]
        if public:
            rsa = await node.signing_key(sender.id, "rsa")
            signed = ldsig.sign(signed, rsa.private_key, rsa.key_id)  # type: ignore[arg-type]
    except (MissingKeyError, LdSignatureError) as exc:
        # Still deliverable without: the HTTP signature covers the hop.
        log.warning("not signing %s: %s", document.get("id"), exc)
        return document
    return signed
