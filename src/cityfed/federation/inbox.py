"""Receiving activities (§3 Inbound): check, verify, bind, store durably, answer 202.

The handler does no side effects: once an activity is verified and committed (group commit), the
sender gets its 202 and a worker dispatches it later. Every refusal answers a 4xx with a JSON
reason; policy drops are a quiet 202 with the reason in our log only (no oracle for blocked peers).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web

from cityfed.activitypub.actor import authority, is_http_url, origin_of
from cityfed.activitypub.links import UnsafeLinkError, check_links
from cityfed.activitypub.vocab.common import id_of
from cityfed.appkeys import NODE
from cityfed.federation import availability
from cityfed.federation.forwarded import may_arrive_forwarded
from cityfed.federation.inbox_limits import Limited, SenderLimits
from cityfed.federation.inbox_writer import InboxWriter, PendingItem
from cityfed.federation.verify import BlockedSigner, Unverified, Verifier
from cityfed.http.responses import error

log = logging.getLogger("cityfed.inbox")

ACCEPTED_TYPES = frozenset({"application/activity+json", "application/ld+json", "application/json"})

INBOX_WRITER: web.AppKey[InboxWriter] = web.AppKey("inbox_writer", InboxWriter)
VERIFIER: web.AppKey[Verifier] = web.AppKey("verifier", Verifier)
SENDER_LIMITS: web.AppKey[SenderLimits] = web.AppKey("sender_limits", SenderLimits)


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _parse_activity(body: bytes) -> tuple[dict[str, Any], str]:
    """The activity and its actor's id, once the checks that need no key have passed."""
    try:
        activity = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Refused(400, "body is not valid JSON") from None
    if not isinstance(activity, dict):
        raise Refused(400, "activity must be a JSON object")
    activity_id = activity.get("id")
    if not isinstance(activity_id, str) or not activity_id:
        raise Refused(400, "activity has no http(s) id")
    if not isinstance(activity.get("type"), str | list) or not activity.get("type"):
        raise Refused(400, "activity has no type")
    actor = id_of(activity.get("actor"))
    if not actor or not is_http_url(actor):
        raise Refused(400, "activity has no actor")
    # Nearly every id starts with its actor's origin, spelled the same way; that settles it
    # without parsing a URL we will never see again (authority() caches by URL, useless here).
    prefix = origin_of(actor)
    if not (prefix and activity_id.startswith(prefix)):
        if not is_http_url(activity_id):
            raise Refused(400, "activity has no http(s) id")
        if authority(activity_id) != authority(actor):
            raise Refused(400, "activity id is not on its actor's host")
    try:
        check_links(activity)  # every id, url and href in it, embedded objects included (§6)
    except UnsafeLinkError as exc:
        raise Refused(400, str(exc)) from None
    return activity, actor


async def receive(request: web.Request, recipient: str | None) -> web.Response:
    app = request.app  # looked up once: each request.app is a walk through the match info
    try:
        return await _receive(request, app, recipient)
    except Refused as exc:
        log.info("rejected %s %s: %s", request.method, request.path, exc.reason)
        return error(exc.status, exc.reason)
    except Limited as exc:
        log.info("rejected %s %s: %s (429)", request.method, request.path, exc.reason)
        response = error(429, exc.reason)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


async def _receive(
    request: web.Request, app: web.Application, recipient: str | None
) -> web.Response:
    node = app[NODE]
    length = request.content_length
    if length is not None and length > node.settings.max_body_bytes:
        raise Refused(413, "request body too large")
    # The exact value nearly every sender writes needs no parsing (aiohttp's costs microseconds).
    if (
        request.headers.get("Content-Type") not in ACCEPTED_TYPES
        and request.content_type not in ACCEPTED_TYPES
    ):
        raise Refused(415, f"unsupported content type {request.content_type!r}")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise Refused(413, "request body too large") from None
    activity, actor_id = _parse_activity(body)
    activity_id: str = activity["id"]
    if node.policy.stale():
        await node.policy.refresh(node.db)
    actor_domain = authority(actor_id)
    if node.policy.is_blocked(actor_domain):
        log.info("dropped %s from blocked domain %s", activity_id, actor_domain)
        return web.Response(status=202)
    limits = app[SENDER_LIMITS]
    limits.check(actor_domain)  # no RSA work for a sender refused a moment ago
    try:
        signer = await app[VERIFIER].verify(request, body)
    except BlockedSigner as exc:
        log.info("dropped %s signed by blocked key %s", activity_id, exc)
        return web.Response(status=202)
    except Unverified as exc:
        if _is_self_delete_of_gone_actor(activity, exc):
            log.info("dropped %s: Delete of an actor whose key is gone", activity_id)
            return web.Response(status=202)
        raise Refused(401, exc.reason) from None
    verified_by = "http-signature"
    if signer.owner != actor_id:
        # A valid signature by someone else does not make them the actor (§10.1). Only an
        # activity that can be checked at its origin may come forwarded; the worker checks it
        # before anything is applied.
        if not may_arrive_forwarded(activity):
            raise Refused(401, f"signed by {signer.owner}, not by the actor {actor_id}")
        verified_by = "forwarded"
    signer_domain = actor_domain if signer.owner == actor_id else authority(signer.owner)
    await limits.take(signer_domain, len(body))
    if node.policy.unavailable and signer_domain in node.policy.unavailable:
        await availability.heard_from(node, signer_domain)
    item = PendingItem(
        activity_ap_id=activity_id,
        actor_ap_id=actor_id,
        signer_key_id=signer.key_id,
        recipient=recipient,
        body=body,
        verified_by=verified_by,
    )
    is_new = await app[INBOX_WRITER].submit(item)
    # DEBUG: at thousands of activities a second this line was a third of the handler's CPU
    # (bench/README.md); the inbox worker logs each activity it applies at INFO.
    log.debug(
        "%s %s %s from %s (%s, %s)",
        "received" if is_new else "duplicate",
        activity.get("type"),
        activity_id,
        actor_id,
        signer.scheme,
        verified_by,
    )
    return web.Response(status=202)


def _is_self_delete_of_gone_actor(activity: dict[str, Any], exc: Unverified) -> bool:
    """Mastodon announces a deleted account with a Delete signed by a key that now 410s.

    We cannot verify it and there is nothing to undo for an actor we never knew, so it is dropped
    quietly instead of making the sender retry a 401 for days.
    """
    return (
        activity.get("type") == "Delete"
        and id_of(activity.get("object")) == id_of(activity.get("actor"))
        and exc.no_key
    )


async def shared_inbox(request: web.Request) -> web.Response:
    return await receive(request, None)


async def actor_inbox(request: web.Request) -> web.Response:
    handle = request.match_info["handle"]
    node = request.app[NODE]
    # A known handle is a set lookup, without the coroutine of is_local_handle (which queries).
    if handle not in node.local_handles and not await node.is_local_handle(handle):
        return error(404, "no such actor")
    return await receive(request, handle)


async def instance_inbox(request: web.Request) -> web.Response:
    return await receive(request, None)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/inbox", shared_inbox)
    app.router.add_post("/actors/{handle}/inbox", actor_inbox)
    app.router.add_post("/actor/inbox", instance_inbox)
