"""Verify the HTTP signature of an incoming request and find out who signed it.

Supports draft-cavage (``Signature`` or ``Authorization: Signature``) and RFC 9421
(``Signature-Input``). The key comes from the cache, the database or a signed fetch; a failure
with a key we had on file triggers one refetch (the sender may have rotated), rate-limited so a
stream of bad requests cannot make us hammer a peer.

A key we do not have costs a fetch that anyone can cause, so before it every rule that needs no
key is checked (covered headers, clock, digest), requests naming the same unknown key share one
lookup, and a key that could not be had is not asked for again for ``NEGATIVE_TTL`` (§6).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from aiohttp import web

from cityfed.activitypub import cavage, rfc9421
from cityfed.activitypub.actor import authority
from cityfed.activitypub.sigerrors import SignatureError
from cityfed.federation.remote import ResolveError, fetch_key, known_key
from cityfed.keys.remote import RemoteKey
from cityfed.models.types import utcnow
from cityfed.node import Node

log = logging.getLogger("cityfed.verify")

REFETCH_INTERVAL = 60.0
NEGATIVE_TTL = 60.0  # seconds a key that could not be fetched is refused without asking again
NEGATIVE_MAX = 10_000


class Unverified(Exception):
    """The request's signature cannot be accepted; ``reason`` goes back to the sender (401)."""

    def __init__(self, reason: str, *, key_id: str | None = None, no_key: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.key_id = key_id
        self.no_key = no_key  # the key could not be had at all (e.g. its actor is gone)


class BlockedSigner(Exception):
    """The key belongs to a blocked domain: drop quietly, fetch nothing."""


# Not frozen: a frozen dataclass sets each field through object.__setattr__, 3-4x the cost of a
# plain one to build (~1 us for these two, made once per inbox request; bench/README.md).
@dataclass(slots=True)
class Signer:
    key_id: str
    owner: str  # the actor id that lists the key
    scheme: str  # "cavage" | "rfc9421"


@dataclass(slots=True)
class _Parsed:
    scheme: str
    key_id: str
    cavage: cavage.CavageSignature | None = None
    message: rfc9421.MessageSignature | None = None


def _parse(request: web.Request) -> _Parsed:
    headers = request.headers
    try:
        if "Signature-Input" in headers:
            for message_sig in rfc9421.parse_signatures(headers):
                if message_sig.key_id:
                    return _Parsed("rfc9421", message_sig.key_id, message=message_sig)
            raise Unverified("RFC 9421 signature without keyid")
        if "Signature" in headers:
            sig = cavage.parse_signature_header(headers["Signature"])
        elif headers.get("Authorization", "").startswith("Signature "):
            sig = cavage.parse_authorization_header(headers["Authorization"])
        else:
            raise Unverified("request is not signed")
    except SignatureError as exc:
        raise Unverified(f"malformed signature: {exc.reason}") from None
    return _Parsed("cavage", sig.key_id, cavage=sig)


def _screen(node: Node, request: web.Request, parsed: _Parsed, body: bytes | None) -> None:
    """The checks of ``_check`` that need no key, for a request whose key we would have to fetch."""
    max_skew = node.settings.signature_max_skew
    if parsed.cavage is not None:
        cavage.check_policy(
            parsed.cavage, request.method, request.headers, body=body, max_skew=max_skew
        )
    else:
        assert parsed.message is not None
        rfc9421.check_policy(
            parsed.message, request.method, request.headers, body=body, max_skew=max_skew
        )


def _check(
    node: Node, request: web.Request, parsed: _Parsed, key: RemoteKey, body: bytes | None
) -> None:
    max_skew = node.settings.signature_max_skew
    if parsed.cavage is not None:
        cavage.verify_request(
            parsed.cavage,
            request.method,
            request.raw_path,
            request.headers,
            key.public_key,
            body=body,
            max_skew=max_skew,
        )
    else:
        assert parsed.message is not None
        url = node.urls.base + request.raw_path
        rfc9421.verify(
            parsed.message,
            request.method,
            url,
            request.headers,
            key.public_key,
            body=body,
            max_skew=max_skew,
        )


class Verifier:
    """Per-node verification state: when each key was last refetched, lookups in flight."""

    def __init__(self, node: Node) -> None:
        self._node = node
        self._refetched: dict[str, float] = {}
        self._loading: dict[str, asyncio.Future[tuple[RemoteKey, bool]]] = {}
        # key id -> (monotonic time until which it is refused, why): the negative cache.
        self._failed: dict[str, tuple[float, str]] = {}
        # Mastodon sends (and signs) Host without the port even for non-default ports.
        self._hosts = frozenset({node.settings.domain, node.settings.hostname})

    async def verify(self, request: web.Request, body: bytes | None) -> Signer:
        node = self._node
        parsed = _parse(request)
        if node.policy.is_blocked(authority(parsed.key_id)):
            raise BlockedSigner(parsed.key_id)
        host = request.headers.get("Host", "").lower()
        if host not in self._hosts:
            raise Unverified(f"request is for host {host!r}, not {node.settings.domain!r}")
        if parsed.message is not None:
            # What needs no key is checked before the key is looked up: a signature that does
            # not cover content-digest is refused for that, not after a needless key fetch.
            try:
                rfc9421.check_policy(
                    parsed.message,
                    request.method,
                    request.headers,
                    body=body,
                    max_skew=node.settings.signature_max_skew,
                )
            except SignatureError as exc:
                raise Unverified(exc.reason, key_id=parsed.key_id) from None
        # The usual case, a cached key, without a coroutine of its own (and without reading
        # the clock unless the key has an expiry).
        cached = node.remote_keys.get(parsed.key_id)
        if cached is not None and cached.expires_at is not None:
            cached = node.remote_keys.get(parsed.key_id, utcnow())
        if cached is None:
            try:
                _screen(node, request, parsed, body)
            except SignatureError as exc:
                raise Unverified(exc.reason, key_id=parsed.key_id) from None
        try:
            key, fresh = (cached, False) if cached is not None else await self._key(parsed.key_id)
        except ResolveError as exc:
            raise Unverified(
                f"cannot get key {parsed.key_id}: {exc}", key_id=parsed.key_id, no_key=True
            ) from None
        try:
            _check(node, request, parsed, key, body)
        except SignatureError as exc:
            if fresh or not self._may_refetch(parsed.key_id):
                raise Unverified(exc.reason, key_id=parsed.key_id) from None
            log.info(
                "signature with cached key %s failed (%s); refetching once",
                parsed.key_id,
                exc.reason,
            )
            try:
                key = await fetch_key(node, parsed.key_id)
                _check(node, request, parsed, key, body)
            except ResolveError as again:
                raise Unverified(
                    f"cannot refetch key {parsed.key_id}: {again}", key_id=parsed.key_id
                ) from None
            except SignatureError as again:
                raise Unverified(again.reason, key_id=parsed.key_id) from None
        return Signer(parsed.key_id, key.owner, parsed.scheme)

    async def _key(self, key_id: str) -> tuple[RemoteKey, bool]:
        """The key, and whether it was fetched just now (not on file).

        Requests signed with the same key not yet in the cache share one lookup: a burst from a
        peer we have not heard from in a while (or right after a restart) costs one database
        read, or one fetch of its actor, instead of one per request in flight.
        """
        cached = self._node.remote_keys.get(key_id, utcnow())
        if cached is not None:
            return cached, False
        task = self._loading.get(key_id)
        if task is None:
            failed = self._failed.get(key_id)
            if failed is not None:
                if time.monotonic() < failed[0]:
                    raise ResolveError(f"{failed[1]} (not asked again for a while)")
                del self._failed[key_id]
            task = asyncio.ensure_future(self._load(key_id))
            self._loading[key_id] = task
            task.add_done_callback(lambda done: self._loaded(key_id, done))
        # Shielded: one requester giving up (its client went away) does not cancel the others'.
        return await asyncio.shield(task)

    async def _load(self, key_id: str) -> tuple[RemoteKey, bool]:
        key = await known_key(self._node, key_id)
        if key is not None:
            return key, False
        return await fetch_key(self._node, key_id), True

    def _loaded(self, key_id: str, task: asyncio.Future[tuple[RemoteKey, bool]]) -> None:
        self._loading.pop(key_id, None)
        if task.cancelled():
            return
        # Retrieved, so a lookup nobody waits for any more logs nothing.
        error = task.exception()
        if isinstance(error, ResolveError):
            if len(self._failed) >= NEGATIVE_MAX:
                self._failed.clear()
            self._failed[key_id] = (time.monotonic() + NEGATIVE_TTL, str(error))
            log.info("key %s could not be had: %s", key_id, error)

    def _may_refetch(self, key_id: str) -> bool:
        now = time.monotonic()
        if now - self._refetched.get(key_id, -REFETCH_INTERVAL) < REFETCH_INTERVAL:
            return False
        self._refetched[key_id] = now
        if len(self._refetched) > 10_000:
            self._refetched.clear()
        return True
