"""A fake fediverse server that talks to our nodes the way Mastodon, GoToSocial or Misskey do.

Why fakes at all: none of these three can be installed from a package registry and run by the
suite (Mastodon is a Rails app, GoToSocial a Go binary, Misskey a Node app needing PostgreSQL and
Redis), so what they put on the wire is copied here from their sources. Servers that can be
installed run for real in tests/peers/ (bovine-herd, Fedify, jsonld.js); what those show (signed
delivery, follow/Accept, replies, Undo, LD signatures, proofs, JSON-LD expansion) is tested there
against the real thing, and only these three servers' own habits stay faked.

It is deliberately independent of cityfed: its documents, routes, signing choices and inbox rules
are written from what the real servers put on the wire, and it borrows from us only the pure
draft-cavage string/crypto helpers (``cityfed.activitypub.cavage``) and ``digest_header``, which
are checked against the draft by their own unit tests. What each flavour reproduces, and where
in the real sources the fact comes from:

Mastodon (``app/lib/request.rb``, ``app/lib/http_signature_draft.rb``,
``app/helpers/jsonld_helper.rb``, ``app/controllers/concerns/signature_verification.rb``,
``app/lib/activitypub/activity/accept.rb``, ActivityPub serializers):

* actor ``Person`` at ``/users/{name}``, key ``{actor}#main-key``, ``endpoints.sharedInbox`` =
  ``/inbox``, @context = activitystreams + security/v1 + an inline ``toot:``/``schema:`` object;
  instance actor ``Application`` at ``/actor``; with authorized fetch an unsigned GET of an actor
  gets only id/type/preferredUsername/inbox/publicKey/endpoints (``restrict_fields_to``).
* signs with rsa-sha256 every header it set except User-Agent/Accept-Encoding, in insertion order:
  POST ``(request-target) host date digest content-type``, GET ``(request-target) host date
  accept`` with ``Accept: application/activity+json, application/ld+json``. Current main
  (``HttpSignatureDraft#sign``) merges ``(request-target)`` in *last* instead
  (``request_target_last``; its own specs sign ``host date digest (request-target)``).
  The Host header is ``@url.host``: no port (``drop_port_from_host``; off by default because
  our loopback rig never uses a default port; see the test that pins it).
* verifying: rsa-sha256 or hs2019; Date or (created) covered; (request-target) or digest; host;
  digest on POST and SHA-256 only; tries the target with the query, then without; refetches the
  key once on failure. Inbox answers 202; a 401 carries ``{"error": ...}``.
* fetched documents must be ``application/activity+json`` or ld+json with the AS profile, and a
  document's ``id`` must be the URL asked for; usernames must match ``Account::USERNAME_RE``; an
  account found by WebFinger is confirmed by a second WebFinger of ``preferredUsername@host``.
* Follow id ``https://host/{uuid}``; Accept ``{actor}#accepts/follows/{n}``; Undo
  ``{actor}#follows/{n}/undo``; Update ``{actor}#updates/{ts}``; Delete ``{actor}#delete``;
  replies are ``{actor}/statuses/{snowflake}`` with a Mention tag, delivered to the shared inbox.

GoToSocial (``internal/transport/signing.go``, superseriousbusiness/httpsig ``signing.go``,
``internal/federation/federatingactor.go``, ``docs/federation/.../http_signatures.md``):

* key id ``{actor}/main-key``; a GET of it returns a stub ``{id: actor, preferredUsername,
  publicKey, type}`` (no inbox) that needs no signature, while the actor itself always does
  (GoToSocial is permanently in authorized-fetch mode); no shared inbox (issue #1894).
* signs GET ``(request-target) host date``, POST ``(request-target) host date digest``, RSA
  SHA-256 but always announced as ``algorithm="hs2019"``; the key of an incoming request is
  fetched with the transport (key) of the account the request is addressed to.
* inbox: Content-Type must be an ActivityStreams type (else 406), answers 202.

Misskey (``core/activitypub/ApRequestService.ts``, ``server/ActivityPubServerService.ts``,
``ApRendererService.renderPerson``):

* actor at ``/users/{aid}`` (an id, not the name), ``{actor}#main-key``, ``_misskey_*`` fields,
  ``sharedInbox`` at top level and in ``endpoints``; WebFinger template read from host-meta.
* signs POST ``(request-target) date host digest`` (in that order) and GET ``(request-target) date
  host accept``, and ``(request-target)`` is ``new URL(url).pathname``: a GET with a query is
  signed without it.
* inbox: only activity+json / ld+json bodies (else 415), at most 64 KiB, Host must be ours, host
  and digest covered; answers 202, and an empty 401 otherwise.
* on first contact reads NodeInfo (``FetchInstanceMetadataService``: the newest 2.x linked
  from ``/.well-known/nodeinfo``); ``fetch_nodeinfo`` checks it against the schema.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import secrets
import socket
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any, ClassVar
from urllib.parse import quote, urldefrag, urljoin, urlsplit

import aiohttp
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cityfed.activitypub import cavage
from cityfed.activitypub.digest import digest_header
from cityfed.activitypub.headers import format_http_date, parse_http_date
from cityfed.activitypub.sigerrors import SignatureError

AS = "https://www.w3.org/ns/activitystreams"
SECURITY = "https://w3id.org/security/v1"
PUBLIC = f"{AS}#Public"
ACTIVITY_JSON = "application/activity+json"
LD_JSON_AS = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
ACTOR_TYPES = frozenset({"Person", "Service", "Group", "Organization", "Application"})
FLAVORS = ("mastodon", "gotosocial", "misskey")
# Mastodon's Account::USERNAME_RE, anchored as ProcessAccountService applies it to remote names.
USERNAME_RE = re.compile(r"[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?", re.IGNORECASE)
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CLOCK_SKEW = 3600  # Mastodon's CLOCK_SKEW_MARGIN; the others are at least as lenient

MASTODON_CONTEXT: list[Any] = [
    AS,
    SECURITY,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "memorial": "toot:memorial",
        "indexable": "toot:indexable",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    },
]
MASTODON_NOTE_CONTEXT: list[Any] = [
    AS,
    {
        "ostatus": "http://ostatus.org#",
        "atomUri": "ostatus:atomUri",
        "inReplyToAtomUri": "ostatus:inReplyToAtomUri",
        "conversation": "ostatus:conversation",
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "votersCount": "toot:votersCount",
    },
]
GOTOSOCIAL_CONTEXT: list[Any] = [
    SECURITY,
    AS,
    {
        "discoverable": "toot:discoverable",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
    },
]
MISSKEY_CONTEXT: list[Any] = [
    AS,
    SECURITY,
    {
        "Key": "sec:Key",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "sensitive": "as:sensitive",
        "Hashtag": "as:Hashtag",
        "quoteUrl": "as:quoteUrl",
        "toot": "http://joinmastodon.org/ns#",
        "Emoji": "toot:Emoji",
        "featured": "toot:featured",
        "discoverable": "toot:discoverable",
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "misskey": "https://misskey-hub.net/ns#",
        "_misskey_content": "misskey:_misskey_content",
        "_misskey_quote": "misskey:_misskey_quote",
        "_misskey_reaction": "misskey:_misskey_reaction",
        "_misskey_votes": "misskey:_misskey_votes",
        "_misskey_summary": "misskey:_misskey_summary",
        "_misskey_followedMessage": "misskey:_misskey_followedMessage",
        "isCat": "misskey:isCat",
        "vcard": "http://www.w3.org/2006/vcard/ns#",
    },
]

# RSA key generation costs ~50-100 ms; a small pool shared by all fakes of a session keeps the
# suite fast. It cycles, so the keys in use by one test (a handful) are always distinct.
_KEY_POOL: list[rsa.RSAPrivateKey] = []
_key_cycle = itertools.count()


def fresh_key() -> rsa.RSAPrivateKey:
    index = next(_key_cycle) % 12
    while len(_KEY_POOL) <= index:
        _KEY_POOL.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _KEY_POOL[index]


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _id(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("id") or value.get("href")
    return value if isinstance(value, str) and value else None


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_type(doc: Mapping[str, Any]) -> str | None:
    kinds = _list(doc.get("type"))
    return kinds[0] if kinds and isinstance(kinds[0], str) else None


def _authority(url: str) -> str:
    return urlsplit(url).netloc.lower()


def _iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ulid() -> str:
    """A ULID as GoToSocial uses for every id: 48 bits of milliseconds, 80 random bits."""
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(26)))


_aid_counter = itertools.count(secrets.randbelow(36 * 36))


def _aid() -> str:
    """Misskey's default ``aid``: base36 milliseconds since 2000, then two characters of a
    counter that starts at random (so ids made in the same millisecond still differ)."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"

    def base36(n: int) -> str:
        out = ""
        while n:
            n, rem = divmod(n, 36)
            out = digits[rem] + out
        return out or "0"

    since_2000 = int(time.time() * 1000) - 946_684_800_000
    noise = next(_aid_counter) % (36 * 36)
    return base36(since_2000).rjust(8, "0") + base36(noise).rjust(2, "0")


class InteropError(AssertionError):
    """What the real server would have refused, or failed on, in talking to the node."""


@dataclass
class FakeUser:
    username: str
    uid: str  # the path segment of the actor: the name, or Misskey's aid
    actor_id: str
    key_id: str
    key: rsa.RSAPrivateKey
    name: str
    summary: str = ""
    locked: bool = False
    instance: bool = False
    gone: bool = False  # deleted: the actor (and so its key) answers 410
    followers: set[str] = field(default_factory=set)
    # followed actor id → {"id": the Follow's id, "state": pending|accepted|rejected}
    following: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def inbox(self) -> str:
        return f"{self.actor_id}/inbox"


@dataclass
class Received:
    """One request the fake served (inbox POST or document GET) and what it made of it."""

    method: str
    path: str  # with the query
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int = 0
    verified: bool = False
    reason: str = ""  # why verification failed, or why a verified activity was not applied
    key_id: str | None = None
    signer: str | None = None  # the owner of the key that verified

    @property
    def activity(self) -> dict[str, Any]:
        try:
            doc = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            return {}
        return doc if isinstance(doc, dict) else {}

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def signed_headers(self) -> tuple[str, ...]:
        try:
            return cavage.parse_signature_header(self.headers.get("signature", "")).headers
        except SignatureError:
            return ()


@dataclass
class Sent:
    """One request the fake made, with the answer it got."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None
    status: int
    answer: bytes

    @property
    def signed_headers(self) -> tuple[str, ...]:
        return cavage.parse_signature_header(self.headers["Signature"]).headers


class FakePeer:
    """A fediverse server of one ``flavor`` with one ordinary user (``user``) and an instance
    actor (``instance``), serving its documents and inboxes on a loopback port.

    Incoming requests are verified the flavour's way (fetching keys from the sender with a
    signed GET, as the instance actor) and logged in ``inbox_log`` / ``get_log``. Follows of an
    unlocked user are answered with an Accept queued in ``pending``; ``deliver_pending`` sends
    it, so tests decide when the "background job" runs, like ``settle`` does for our nodes.
    """

    flavor: ClassVar[str] = ""
    user_agent: ClassVar[str] = ""
    always_authorized_fetch: ClassVar[bool] = False
    has_shared_inbox: ClassVar[bool] = True
    ap_content_type: ClassVar[str] = "application/activity+json; charset=utf-8"
    jrd_content_type: ClassVar[str] = "application/jrd+json; charset=utf-8"
    max_inbox_bytes: ClassVar[int | None] = None

    def __init__(
        self,
        http: aiohttp.ClientSession,
        *,
        username: str = "alice",
        locked: bool = False,
        authorized_fetch: bool = False,
    ) -> None:
        self.http = http
        self.port = _free_port()
        self.authorized_fetch = authorized_fetch or self.always_authorized_fetch
        self.users: dict[str, FakeUser] = {}  # by uid
        self.objects: dict[str, dict[str, Any]] = {}  # documents served as-is, by id
        self.actors: dict[str, dict[str, Any]] = {}  # remote actor documents by id
        self.inbox_log: list[Received] = []
        self.get_log: list[Received] = []
        self.sent: list[Sent] = []
        self.pending: list[tuple[FakeUser, dict[str, Any], str]] = []
        self.target: str | None = None  # the remote actor last looked up or followed
        self._keys: dict[str, tuple[str, Any]] = {}  # key id → (owner, public key)
        self._counter = itertools.count(1)
        self.instance = self._new_user(self.instance_username(), instance=True)
        self.user = self.add_user(username, locked=locked)
        self._runner: web.AppRunner | None = None

    # -- identity -------------------------------------------------------------------------

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    @property
    def actor_id(self) -> str:
        return self.user.actor_id

    @property
    def key_id(self) -> str:
        return self.user.key_id

    @property
    def account(self) -> str:
        return f"{self.user.username}@{self.domain}"

    @property
    def shared_inbox(self) -> str | None:
        return f"{self.base}/inbox" if self.has_shared_inbox else None

    def instance_username(self) -> str:
        raise NotImplementedError

    def uid_for(self, username: str) -> str:
        return username

    def actor_url(self, uid: str, *, instance: bool = False) -> str:
        return f"{self.base}/users/{uid}"

    def key_id_for(self, actor_id: str) -> str:
        return f"{actor_id}#main-key"

    def _new_user(self, username: str, *, instance: bool = False, locked: bool = False) -> FakeUser:
        uid = self.uid_for(username)
        actor_id = self.actor_url(uid, instance=instance)
        user = FakeUser(
            username=username,
            uid=uid,
            actor_id=actor_id,
            key_id=self.key_id_for(actor_id),
            key=fresh_key(),
            name=username.title(),
            locked=locked,
            instance=instance,
        )
        self.users[uid] = user
        return user

    def add_user(self, username: str, *, locked: bool = False) -> FakeUser:
        return self._new_user(username, locked=locked)

    def user_by_actor(self, actor_id: str | None) -> FakeUser | None:
        return next((u for u in self.users.values() if u.actor_id == actor_id), None)

    # -- documents (overridden per flavour) -----------------------------------------------

    def actor_document(self, user: FakeUser) -> dict[str, Any]:
        raise NotImplementedError

    def webfinger_document(self, user: FakeUser) -> dict[str, Any]:
        raise NotImplementedError

    def key_document(self, user: FakeUser) -> dict[str, Any] | None:
        """The document served at the key id's URL when that is not the actor's own URL."""
        return None

    def restricted_actor(self, user: FakeUser) -> dict[str, Any] | None:
        """What an unsigned GET of an actor gets in authorized-fetch mode (None: a 401)."""
        return None

    def follow_activity(self, user: FakeUser, target: str) -> dict[str, Any]:
        raise NotImplementedError

    def undo_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def accept_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # -- signing (overridden per flavour) -------------------------------------------------

    def sign(
        self, method: str, url: str, user: FakeUser, body: bytes | None = None
    ) -> dict[str, str]:
        """The headers the flavour sends with a request, ``Signature`` included."""
        raise NotImplementedError

    @staticmethod
    def _signature(
        user: FakeUser,
        method: str,
        target: str,
        names: list[str],
        values: Mapping[str, str],
        algorithm: str = "rsa-sha256",
    ) -> str:
        string = cavage.signing_string(names, method, target, values)
        signature = base64.b64encode(cavage.sign_string(string, user.key)).decode("ascii")
        return (
            f'keyId="{user.key_id}",algorithm="{algorithm}",'
            f'headers="{" ".join(names)}",signature="{signature}"'
        )

    @staticmethod
    def _target(url: str, *, query: bool = True) -> str:
        parts = urlsplit(url)
        return (parts.path or "/") + (f"?{parts.query}" if query and parts.query else "")

    # -- verification (overridable policy) ------------------------------------------------

    def signature_policy(self, sig: cavage.CavageSignature, request: web.Request) -> str | None:
        """Why the flavour refuses this signature before any crypto, or None."""
        if request.method == "POST" and "digest" not in sig.headers:
            return "the Digest header must be signed on POST"
        return None

    def check_digest(self, value: str | None, body: bytes) -> str | None:
        if value is None:
            return "Digest header missing"
        entries = dict(part.strip().split("=", 1) for part in value.split(",") if "=" in part)
        given = next((v for k, v in entries.items() if k.lower() == "sha-256"), None)
        if given is None:
            return f"only SHA-256 is supported in Digest, got {value!r}"
        expected = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        if not hmac.compare_digest(given.strip(), expected):
            return "Digest does not match the body"
        return None

    def verification_targets(self, raw_path: str) -> list[str]:
        return [raw_path]

    def has_key(self, key_id: str) -> bool:
        """Whether a key for ``key_id`` is on file (a failure then triggers one refetch)."""
        return key_id in self._keys

    def key_fetcher(self, recipient: FakeUser | None) -> FakeUser:
        """Whose signature the key fetch for a request to ``recipient`` carries."""
        return self.instance

    async def verify(
        self,
        request: web.Request,
        body: bytes | None,
        record: Received,
        recipient: FakeUser | None = None,
    ) -> bool:
        """Check ``request``'s signature the flavour's way; fills ``record``; True if valid."""
        header = request.headers.get("Signature")
        if header is None:
            record.reason = "request is not signed"
            return False
        try:
            sig = cavage.parse_signature_header(header)
        except SignatureError as exc:
            record.reason = f"bad Signature header: {exc}"
            return False
        record.key_id = sig.key_id
        problem = self.signature_policy(sig, request)
        if problem is None and "date" in sig.headers:
            date = request.headers.get("Date")
            try:
                skew = abs(time.time() - parse_http_date(date or ""))
            except SignatureError:
                skew = float("inf")
            if skew > CLOCK_SKEW:
                problem = "Date is missing or outside the acceptable time window"
        if problem is None and "digest" in sig.headers:
            problem = self.check_digest(request.headers.get("Digest"), body or b"")
        if problem is not None:
            record.reason = problem
            return False
        # A key we had on file may have been rotated: refetch it once (Mastodon does).
        for refresh in (False, True) if self.has_key(sig.key_id) else (False,):
            try:
                owner, key = await self.remote_key(
                    sig.key_id, refresh=refresh, signer=self.key_fetcher(recipient)
                )
            except InteropError as exc:
                record.reason = f"cannot get key {sig.key_id}: {exc}"
                return False
            for target in self.verification_targets(request.raw_path):
                try:
                    string = cavage.signing_string(
                        sig.headers,
                        request.method,
                        target,
                        request.headers,
                        created=sig.created,
                        expires=sig.expires,
                    )
                    cavage.verify_signature(sig, string, key)
                except SignatureError as exc:
                    record.reason = exc.reason
                    continue
                record.verified, record.signer, record.reason = True, owner, ""
                return True
        return False

    async def remote_key(
        self, key_id: str, *, refresh: bool = False, signer: FakeUser | None = None
    ) -> tuple[str, Any]:
        """(owner, public key) for ``key_id``, fetched with a GET signed by ``signer`` (the
        instance actor by default).

        Like Mastodon's FetchRemoteKeyService: the key is accepted only if its owner's own
        document lists it under that id.
        """
        if not refresh and key_id in self._keys:
            return self._keys[key_id]
        doc = await self.fetch(key_id, user=signer)
        if "publicKeyPem" in doc:  # a standalone key document names its owner
            owner = _id(doc.get("owner"))
        else:  # an actor, or GoToSocial's stub: the entry with this id names the owner
            entry = next(
                (e for e in _list(doc.get("publicKey")) if _id(e) == key_id),
                None,
            )
            owner = _id(entry.get("owner")) if isinstance(entry, dict) else None
        if not owner:
            raise InteropError(f"{key_id}: no key with that id and an owner")
        owner_doc = (
            doc
            if doc.get("id") == owner and "inbox" in doc
            else await self.fetch(owner, user=signer)
        )
        if owner_doc.get("id") != owner:
            raise InteropError(f"{owner} serves a document with id {owner_doc.get('id')!r}")
        listed = next(
            (e for e in _list(owner_doc.get("publicKey")) if _id(e) == key_id),
            None,
        )
        if not isinstance(listed, dict) or _id(listed.get("owner")) != owner:
            raise InteropError(f"{owner} does not list {key_id} as its own key")
        try:
            key = cavage.load_public_key_pem(listed["publicKeyPem"])
        except (KeyError, SignatureError) as exc:
            raise InteropError(f"{key_id}: unusable publicKeyPem ({exc})") from None
        self.actors[owner] = owner_doc
        self._keys[key_id] = (owner, key)
        return owner, key

    # -- outgoing requests ----------------------------------------------------------------

    async def fetch(
        self, url: str, *, user: FakeUser | None = None, follow_redirects: bool = False
    ) -> dict[str, Any]:
        """A signed GET the flavour's way (as the instance actor by default); JSON or error.

        With ``follow_redirects`` up to three redirects are followed, each hop signed anew (as
        Mastodon's ``re_sign_on_redirect`` does).
        """
        url = urldefrag(url).url
        for _hop in range(4):
            headers = self.sign("GET", url, user or self.instance)
            async with self.http.get(url, headers=headers, allow_redirects=False) as resp:
                answer = await resp.read()
                self.sent.append(Sent("GET", url, headers, None, resp.status, answer))
                location = resp.headers.get("Location")
                if follow_redirects and resp.status in REDIRECTS and location:
                    url = urldefrag(urljoin(url, location)).url
                    continue
                if resp.status != 200:
                    raise InteropError(f"GET {url}: HTTP {resp.status} {answer[:300]!r}")
                media = resp.headers.get("Content-Type", "")
            break
        else:
            raise InteropError(f"GET {url}: too many redirects")
        self.check_content_type(url, media)
        try:
            doc = orjson.loads(answer)
        except orjson.JSONDecodeError:
            raise InteropError(f"GET {url}: not JSON") from None
        if not isinstance(doc, dict):
            raise InteropError(f"GET {url}: not a JSON object")
        return doc

    def check_content_type(self, url: str, media: str) -> None:
        """Mastodon and Misskey only read documents served as ActivityStreams."""
        main = media.split(";")[0].strip().lower()
        if main == ACTIVITY_JSON:
            return
        if main == "application/ld+json" and "https://www.w3.org/ns/activitystreams" in media:
            return
        raise InteropError(f"GET {url}: not an ActivityStreams media type: {media!r}")

    async def send(
        self,
        activity: dict[str, Any],
        inbox: str | None = None,
        *,
        user: FakeUser | None = None,
    ) -> int:
        """POST ``activity`` signed by ``user`` (the main user by default); the HTTP status.

        Without ``inbox`` it goes where the real server would send it: the inbox of the actor
        the activity is about when that is a remote actor we know, else the shared inbox (or
        inbox) of the actor we last looked up or followed.
        """
        user = user or self.user
        if inbox is None:
            about = _id(activity.get("object"))
            if about in self.actors:
                inbox = await self.inbox_of(about)
            elif self.target is not None:
                inbox = await self.inbox_of(self.target, shared=True)
            else:
                raise InteropError("send: no inbox given and no remote actor known")
        body = orjson.dumps(activity)
        headers = self.sign("POST", inbox, user, body)
        async with self.http.post(inbox, data=body, headers=headers, allow_redirects=False) as resp:
            answer = await resp.read()
            self.sent.append(Sent("POST", inbox, headers, body, resp.status, answer))
            return resp.status

    async def _deliver(
        self, activity: dict[str, Any], inbox: str | None = None, *, user: FakeUser | None = None
    ) -> dict[str, Any]:
        status = await self.send(activity, inbox, user=user)
        if not 200 <= status < 300:
            raise InteropError(
                f"{activity.get('type')} refused: HTTP {status} {self.sent[-1].answer[:300]!r}"
            )
        return activity

    async def inbox_of(self, actor_id: str, *, shared: bool = False) -> str:
        doc = self.actors.get(actor_id) or await self.resolve(actor_id)
        if shared:
            endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
            if isinstance(endpoints.get("sharedInbox"), str):
                return endpoints["sharedInbox"]
        inbox = doc.get("inbox")
        if not isinstance(inbox, str):
            raise InteropError(f"{actor_id} has no inbox")
        return inbox

    async def resolve(self, actor_id: str) -> dict[str, Any]:
        """Fetch a remote actor by id (signed GET; its id must be the URL asked for)."""
        doc = await self.fetch(actor_id)
        if doc.get("id") != actor_id:
            raise InteropError(f"{actor_id} serves a document with id {doc.get('id')!r}")
        if not set(_list(doc.get("type"))) & ACTOR_TYPES:
            raise InteropError(f"{actor_id} is not an actor: {doc.get('type')!r}")
        self.actors[actor_id] = doc
        return doc

    # -- what a user does -----------------------------------------------------------------

    def webfinger_url(self, base: str, acct: str) -> str:
        return f"{base}/.well-known/webfinger?resource=acct:{acct}"

    async def webfinger(self, acct: str) -> dict[str, Any]:
        """The unsigned WebFinger lookup every flavour starts a search with."""
        host = acct.rsplit("@", 1)[1]
        url = await self.webfinger_endpoint(f"http://{host}", acct)
        async with self.http.get(
            url, headers={"Accept": "application/jrd+json, application/json"}
        ) as resp:
            answer = await resp.read()
            self.sent.append(Sent("GET", url, {}, None, resp.status, answer))
            if resp.status != 200:
                raise InteropError(f"WebFinger {url}: HTTP {resp.status}")
        try:
            jrd = orjson.loads(answer)
        except orjson.JSONDecodeError:
            raise InteropError(f"WebFinger {url}: not JSON") from None
        if not isinstance(jrd, dict):
            raise InteropError(f"WebFinger {url}: not a JSON object")
        return jrd

    async def webfinger_endpoint(self, base: str, acct: str) -> str:
        return self.webfinger_url(base, acct)

    @staticmethod
    def self_link(jrd: dict[str, Any]) -> str | None:
        for link in _list(jrd.get("links")):
            if not isinstance(link, dict) or link.get("rel") != "self":
                continue
            media = str(link.get("type", ""))
            if media in (ACTIVITY_JSON, LD_JSON_AS) and isinstance(link.get("href"), str):
                return link["href"]
        return None

    async def fetch_nodeinfo(self, host: str) -> dict[str, Any]:
        """Instance metadata as Misskey's FetchInstanceMetadataService reads it on first contact:
        the discovery document, the newest NodeInfo it links (2.1, else 2.0), schema checks."""
        async with self.http.get(f"http://{host}/.well-known/nodeinfo") as resp:
            if resp.status != 200:
                raise InteropError(f"{host}: /.well-known/nodeinfo answers HTTP {resp.status}")
            discovery = await resp.json(content_type=None)
        links = {
            link.get("rel"): link.get("href")
            for link in _list(discovery.get("links"))
            if isinstance(link, dict)
        }
        schema = "http://nodeinfo.diaspora.software/ns/schema/"
        href = links.get(f"{schema}2.1") or links.get(f"{schema}2.0")
        if not isinstance(href, str):
            raise InteropError(f"{host}: no NodeInfo 2.x link in {discovery!r}")
        async with self.http.get(href) as resp:
            if resp.status != 200:
                raise InteropError(f"{href}: HTTP {resp.status}")
            info = await resp.json(content_type=None)
        software = info.get("software") if isinstance(info.get("software"), dict) else {}
        problems = []
        if not re.fullmatch(r"[a-z0-9-]+", str(software.get("name", ""))):
            problems.append(f"software.name {software.get('name')!r} breaks the schema pattern")
        if not isinstance(software.get("version"), str):
            problems.append("software.version is not a string")
        if "activitypub" not in _list(info.get("protocols")):
            problems.append("protocols lacks activitypub")
        if not isinstance(info.get("openRegistrations"), bool):
            problems.append("openRegistrations is not a boolean")
        users = (info.get("usage") or {}).get("users")
        if not isinstance(users, dict):
            problems.append("usage.users is not an object")
        if problems:
            raise InteropError(f"{href}: " + "; ".join(problems))
        return info

    async def lookup(self, handle: str) -> dict[str, Any]:
        """Search ``@user@host`` as the flavour does: WebFinger, then a signed actor fetch."""
        acct = handle.strip().removeprefix("@")
        jrd = await self.webfinger(acct)
        href = self.self_link(jrd)
        if href is None:
            raise InteropError(f"{acct}: WebFinger has no ActivityPub self link: {jrd!r}")
        doc = await self.resolve(href)
        self.target = href
        return doc

    async def follow(self, target: str, *, user: FakeUser | None = None) -> dict[str, Any]:
        """Follow a remote actor (by id), sending the Follow to its inbox as the flavour does."""
        user = user or self.user
        if target not in self.actors:
            await self.resolve(target)
        self.target = target
        activity = self.follow_activity(user, target)
        user.following[target] = {"id": activity["id"], "state": "pending"}
        return await self._deliver(activity, await self.inbox_of(target), user=user)

    async def undo_follow(self, target: str, *, user: FakeUser | None = None) -> dict[str, Any]:
        user = user or self.user
        state = user.following.pop(target)
        follow = self.follow_activity(user, target)
        follow["id"] = state["id"]
        follow.pop("@context", None)
        activity = self.undo_activity(user, follow)
        return await self._deliver(activity, await self.inbox_of(target), user=user)

    async def deliver_pending(self) -> list[int]:
        """Send what the server's background jobs would have sent by now (Accepts)."""
        statuses = []
        while self.pending:
            user, activity, to_actor = self.pending.pop(0)
            statuses.append(await self.send(activity, await self.inbox_of(to_actor), user=user))
        return statuses

    def rotate_key(self, user: FakeUser | None = None) -> rsa.RSAPrivateKey:
        """Give the user a new key under the same key id (what a Mastodon key change looks
        like from outside: ``#main-key`` now serves another PEM)."""
        user = user or self.user
        old = user.key
        while user.key is old:
            user.key = fresh_key()
        return user.key

    def received(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Activities that arrived with a valid signature, optionally only of one type."""
        return [
            r.activity
            for r in self.inbox_log
            if r.verified and (kind is None or _first_type(r.activity) == kind)
        ]

    def requests(self, kind: str | None = None) -> list[Received]:
        """Every inbox request (verified or not), optionally only those of one activity type."""
        return [r for r in self.inbox_log if kind is None or _first_type(r.activity) == kind]

    # -- server ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        app.router.add_get("/.well-known/host-meta", self._host_meta)
        if self.has_shared_inbox:
            app.router.add_post("/inbox", self._inbox)
        app.router.add_post("/users/{uid}/inbox", self._inbox)
        app.router.add_post("/actor/inbox", self._inbox)
        app.router.add_get("/{tail:.*}", self._get)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _json(self, doc: Any, media: str | None = None, status: int = 200) -> web.Response:
        return web.Response(
            body=orjson.dumps(doc),
            status=status,
            headers={"Content-Type": media or self.ap_content_type},
        )

    def _user_for_resource(self, resource: str) -> FakeUser | None:
        if resource.startswith(("http://", "https://")):
            return next(
                (
                    u
                    for u in self.users.values()
                    if resource in (u.actor_id, f"{self.base}/@{u.username}")
                ),
                None,
            )
        name, _, host = resource.removeprefix("acct:").lstrip("@").rpartition("@")
        if host.lower() != self.domain:
            return None
        return next((u for u in self.users.values() if u.username == name), None)

    async def _webfinger(self, request: web.Request) -> web.Response:
        user = self._user_for_resource(request.query.get("resource", ""))
        if user is None or user.gone:
            return web.Response(status=404)
        return self._json(self.webfinger_document(user), self.jrd_content_type)

    async def _host_meta(self, request: web.Request) -> web.Response:
        template = escape(f"{self.base}/.well-known/webfinger?resource={{uri}}", quote=True)
        xml = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
            f'  <Link rel="lrdd" template="{template}"/>\n</XRD>\n'
        )
        return web.Response(text=xml, content_type="application/xrd+xml")

    async def _get(self, request: web.Request) -> web.Response:
        url = self.base + request.path
        record = Received("GET", request.path_qs, _lower(request.headers), b"")
        self.get_log.append(record)
        if "Signature" in request.headers:
            fetched = next(
                (
                    u
                    for u in self.users.values()
                    if url == u.actor_id or url.startswith(u.actor_id + "/")
                ),
                None,
            )
            await self.verify(request, None, record, fetched)
        response = self._document_for(url, record)
        record.status = response.status
        return response

    def _document_for(self, url: str, record: Received) -> web.Response:
        signed = record.verified
        for user in self.users.values():
            if url == user.actor_id:
                if user.gone:
                    return web.Response(status=410)
                if user.instance or not self.authorized_fetch or signed:
                    return self._json(self.actor_document(user))
                restricted = self.restricted_actor(user)
                if restricted is not None:
                    return self._json(restricted)
                return self._unauthorized(record.reason or "request is not signed")
            if url == urldefrag(user.key_id).url and url != user.actor_id:
                doc = self.key_document(user)
                if user.gone:
                    return web.Response(status=410)
                if doc is not None:
                    return self._json(doc)
            for which in ("followers", "following", "outbox"):
                if url == f"{user.actor_id}/{which}":
                    if self.authorized_fetch and not signed:
                        return self._unauthorized(record.reason or "request is not signed")
                    count = len(user.followers) if which == "followers" else 0
                    return self._json(
                        {
                            "@context": AS,
                            "id": url,
                            "type": "OrderedCollection",
                            "totalItems": count,
                        }
                    )
        if url in self.objects:
            if self.authorized_fetch and not signed:
                return self._unauthorized(record.reason or "request is not signed")
            return self._json(self.objects[url])
        return web.Response(status=404)

    def _unauthorized(self, reason: str) -> web.Response:
        return self._json({"error": reason}, "application/json; charset=utf-8", 401)

    def content_type_refusal(self, content_type: str) -> int | None:
        """The status the flavour answers an inbox POST of this media type with, if it refuses."""
        return None

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        record = Received("POST", request.path_qs, _lower(request.headers), body)
        self.inbox_log.append(record)
        if self.max_inbox_bytes is not None and len(body) > self.max_inbox_bytes:
            record.status, record.reason = 413, f"body over {self.max_inbox_bytes} bytes"
            return web.Response(status=413)
        refused = self.content_type_refusal(request.headers.get("Content-Type", ""))
        if refused is not None:
            record.status, record.reason = refused, "unacceptable Content-Type"
            return web.Response(status=refused)
        recipient = self.users.get(request.match_info.get("uid", ""))
        if not await self.verify(request, body, record, recipient):
            record.status = 401
            return self._unauthorized(record.reason)
        activity = record.activity
        if not activity:
            record.status, record.verified = 400, False
            return web.Response(status=400)
        if record.signer != _id(activity.get("actor")):
            # A real server would now need an LD signature or a refetch; we only note it.
            record.reason = f"signed by {record.signer}, not by the actor"
        else:
            self.apply(activity, recipient)
        record.status = 202
        return web.Response(status=202)

    def apply(self, activity: dict[str, Any], recipient: FakeUser | None) -> None:
        """The side effects the real servers give the follow lifecycle."""
        kind, actor = _first_type(activity), _id(activity.get("actor")) or ""
        obj = activity.get("object")
        if kind == "Follow":
            user = self.user_by_actor(_id(obj))
            if user is None or user.gone or user.instance:
                return
            if not user.locked:
                user.followers.add(actor)
                self.pending.append((user, self.accept_activity(user, activity), actor))
        elif kind in ("Accept", "Reject"):
            follow_id = _id(obj)
            for user in self.users.values():
                state = user.following.get(actor)
                if state is None:
                    continue
                embedded_match = (
                    isinstance(obj, dict)
                    and _id(obj.get("actor")) == user.actor_id
                    and _id(obj.get("object")) == actor
                )
                if state["id"] == follow_id or embedded_match:
                    state["state"] = "accepted" if kind == "Accept" else "rejected"
        elif kind == "Undo" and isinstance(obj, dict) and _first_type(obj) == "Follow":
            user = self.user_by_actor(_id(obj.get("object")))
            if user is not None:
                user.followers.discard(actor)


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class MastodonPeer(FakePeer):
    """Mirrors mastodon/mastodon: documents from app/serializers/activitypub/
    (actor_serializer.rb, note_serializer.rb), signing from app/lib/request.rb and
    app/lib/http_signature_draft.rb, verification from
    app/controllers/concerns/signature_verification.rb, lookup from app/services/
    resolve_account_service.rb + activitypub/fetch_remote_account_service.rb, actor reading
    from activitypub/process_account_service.rb, status reading from
    app/lib/activitypub/activity/create.rb, deletion from app/services/delete_account_service.rb."""

    flavor = "mastodon"
    user_agent = "http.rb/5.2.0 (Mastodon/4.3.2; +http://mastodon.example/)"

    def __init__(self, http: aiohttp.ClientSession, **kwargs: Any) -> None:
        super().__init__(http, **kwargs)
        # Mastodon ≥ 4.4 appends (request-target) after the other headers (HttpSignatureDraft).
        self.request_target_last = False
        # Mastodon sends ``Host: @url.host``, which has no port; see the module docstring.
        self.drop_port_from_host = False
        # An account has exactly one public key: the first ``publicKey`` of its actor.
        self._account_keys: dict[str, Any] = {}  # actor id → public key
        self._key_owners: dict[str, str] = {}  # key id → actor id, once resolved

    def _account_for_key(self, key_id: str) -> str:
        # TagManager#uri_to_actor finds the account by the key id minus its fragment.
        return self._key_owners.get(key_id) or key_id.split("#")[0]

    def has_key(self, key_id: str) -> bool:
        return self._account_for_key(key_id) in self._account_keys

    async def remote_key(
        self, key_id: str, *, refresh: bool = False, signer: FakeUser | None = None
    ) -> tuple[str, Any]:
        """The key of the account that ``key_id`` names, the way Mastodon finds it.

        A known account is verified with its one stored key, and refreshed (refetched) once when
        that fails. An unknown one goes through FetchRemoteKeyService: the key id's document is
        an actor (fetch it again by its id) or a key whose owner's ``publicKey`` must be that
        key (``value_or_id``: a single entry, not a list).
        """
        account = self._account_for_key(key_id)
        if not refresh and account in self._account_keys:
            return account, self._account_keys[account]
        if account in self._account_keys:
            actor = await self.resolve(account)
        else:
            doc = await self.fetch(key_id, user=signer)
            if set(_list(doc.get("type"))) & ACTOR_TYPES:
                actor = await self.resolve(str(doc.get("id")))
            elif doc.get("publicKeyPem") and doc.get("owner"):
                actor = await self.resolve(str(_id(doc["owner"])))
                if _id(actor.get("publicKey")) != doc.get("id") or isinstance(
                    actor.get("publicKey"), list
                ):
                    raise InteropError(f"publicKey of {actor['id']} is not {doc.get('id')}")
            else:
                raise InteropError(f"unexpected object type for key {key_id}")
        self._remember_key(actor)
        self._key_owners[key_id] = actor["id"]
        return actor["id"], self._account_keys[actor["id"]]

    def _remember_key(self, actor: dict[str, Any]) -> None:
        first = _list(actor.get("publicKey"))[:1]
        pem = first[0].get("publicKeyPem") if first and isinstance(first[0], dict) else None
        try:
            self._account_keys[actor["id"]] = cavage.load_public_key_pem(str(pem))
        except SignatureError:
            raise InteropError(f"{actor['id']}: its first publicKey is unusable") from None

    def apply(self, activity: dict[str, Any], recipient: FakeUser | None) -> None:
        super().apply(activity, recipient)
        obj = activity.get("object")
        # Update{actor} by the actor itself: ProcessAccountService, key included.
        if (
            _first_type(activity) == "Update"
            and isinstance(obj, dict)
            and _id(obj) == _id(activity.get("actor"))
            and set(_list(obj.get("type"))) & ACTOR_TYPES
        ):
            self.actors[obj["id"]] = obj
            self._remember_key(obj)

    def instance_username(self) -> str:
        return "127.0.0.1"  # Mastodon's instance actor is named after the domain

    def actor_url(self, uid: str, *, instance: bool = False) -> str:
        return f"{self.base}/actor" if instance else f"{self.base}/users/{uid}"

    def actor_document(self, user: FakeUser) -> dict[str, Any]:
        actor = user.actor_id
        if user.instance:
            return {
                "@context": MASTODON_CONTEXT,
                "id": actor,
                "type": "Application",
                "inbox": f"{actor}/inbox",
                "outbox": f"{actor}/outbox",
                "preferredUsername": user.username,
                "url": f"{self.base}/about/more?instance_actor=true",
                "manuallyApprovesFollowers": True,
                "publicKey": self._public_key(user),
                "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            }
        return {
            "@context": MASTODON_CONTEXT,
            "id": actor,
            "type": "Person",
            "following": f"{actor}/following",
            "followers": f"{actor}/followers",
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "featured": f"{actor}/collections/featured",
            "featuredTags": f"{actor}/collections/tags",
            "preferredUsername": user.username,
            "name": user.name,
            "summary": user.summary,
            "url": f"{self.base}/@{user.username}",
            "manuallyApprovesFollowers": user.locked,
            "discoverable": True,
            "indexable": False,
            "published": "2023-04-01T00:00:00Z",
            "memorial": False,
            "devices": f"{actor}/collections/devices",
            "publicKey": self._public_key(user),
            "tag": [],
            "attachment": [],
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
        }

    def restricted_actor(self, user: FakeUser) -> dict[str, Any] | None:
        full = self.actor_document(user)
        keep = ("@context", "id", "type", "preferredUsername", "inbox", "publicKey", "endpoints")
        return {k: full[k] for k in keep if k in full}

    @staticmethod
    def _public_key(user: FakeUser) -> dict[str, str]:
        return {"id": user.key_id, "owner": user.actor_id, "publicKeyPem": public_pem(user.key)}

    def webfinger_document(self, user: FakeUser) -> dict[str, Any]:
        return {
            "subject": f"acct:{user.username}@{self.domain}",
            "aliases": [f"{self.base}/@{user.username}", user.actor_id],
            "links": [
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": f"{self.base}/@{user.username}",
                },
                {"rel": "self", "type": ACTIVITY_JSON, "href": user.actor_id},
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": f"{self.base}/authorize_interaction?uri={{uri}}",
                },
            ],
        }

    def sign(
        self, method: str, url: str, user: FakeUser, body: bytes | None = None
    ) -> dict[str, str]:
        parts = urlsplit(url)
        values = {
            "Host": (parts.hostname or "") if self.drop_port_from_host else parts.netloc,
            "Date": format_http_date(),
        }
        if body is not None:
            values["Digest"] = digest_header(body)
            values["Content-Type"] = ACTIVITY_JSON
        else:
            values["Accept"] = "application/activity+json, application/ld+json"
        names = [name.lower() for name in values]
        names = (
            [*names, "(request-target)"]
            if self.request_target_last
            else [
                "(request-target)",
                *names,
            ]
        )
        signature = self._signature(user, method, self._target(url), names, values)
        return {**values, "Signature": signature, "User-Agent": self.user_agent}

    def signature_policy(self, sig: cavage.CavageSignature, request: web.Request) -> str | None:
        covered = sig.headers
        if sig.algorithm not in ("rsa-sha256", "hs2019"):
            return "Unsupported signature algorithm (only rsa-sha256 and hs2019 are supported)"
        if "date" not in covered and "(created)" not in covered:
            return "Mastodon requires the Date header or (created) pseudo-header to be signed"
        if "(request-target)" not in covered and "digest" not in covered:
            return (
                "Mastodon requires the Digest header or (request-target) pseudo-header to be signed"
            )
        if "host" not in covered:
            return "Mastodon requires the Host header to be signed"
        if request.method == "POST" and "digest" not in covered:
            return "Mastodon requires the Digest header to be signed when doing a POST request"
        return None

    def verification_targets(self, raw_path: str) -> list[str]:
        # With the query first, then without it (for Misskey's signatures).
        path, _, query = raw_path.partition("?")
        return [raw_path, path] if query else [raw_path]

    def follow_activity(self, user: FakeUser, target: str) -> dict[str, Any]:
        # FollowRequest#uri is generate_uri_for: the root URL plus a random UUID.
        return {
            "@context": AS,
            "id": f"{self.base}/{uuid.uuid4()}",
            "type": "Follow",
            "actor": user.actor_id,
            "object": target,
        }

    def undo_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        return {
            "@context": AS,
            "id": f"{user.actor_id}#follows/{next(self._counter)}/undo",
            "type": "Undo",
            "actor": user.actor_id,
            "object": follow,
        }

    def accept_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        return {
            "@context": AS,
            "id": f"{user.actor_id}#accepts/follows/{next(self._counter)}",
            "type": "Accept",
            "actor": user.actor_id,
            "object": {
                "id": follow["id"],
                "type": "Follow",
                "actor": _id(follow.get("actor")),
                "object": user.actor_id,
            },
        }

    def update_profile(self, user: FakeUser | None = None, **changes: Any) -> dict[str, Any]:
        """Change the profile and return the Update{Person} Mastodon sends about it."""
        user = user or self.user
        for name, value in changes.items():
            setattr(user, name, value)
        person = self.actor_document(user)
        person.pop("@context")
        return {
            "@context": MASTODON_CONTEXT,
            # Mastodon appends updated_at in seconds; milliseconds keep two updates made within
            # one second of a test distinct (receivers drop a repeated id as a replay).
            "id": f"{user.actor_id}#updates/{int(time.time() * 1000)}",
            "type": "Update",
            "actor": user.actor_id,
            "to": [PUBLIC],
            "object": person,
        }

    def delete_account(self, user: FakeUser | None = None) -> dict[str, Any]:
        """Delete the account (its actor and key now answer 410) and return the Delete."""
        user = user or self.user
        user.gone = True
        return {
            "@context": [AS, {"sec": "https://w3id.org/security#"}],
            "id": f"{user.actor_id}#delete",
            "type": "Delete",
            "actor": user.actor_id,
            "to": [PUBLIC],
            "object": user.actor_id,
        }

    async def like(self, object_id: str, *, user: FakeUser | None = None) -> dict[str, Any]:
        """Favourite a status as Mastodon does (``ActivityPub::LikeSerializer``: id
        ``{actor}#likes/{id}``, no addressing), sent to the author's shared inbox."""
        user = user or self.user
        author = _id((await self.fetch(object_id)).get("attributedTo")) or ""
        activity = {
            "@context": AS,
            "id": f"{user.actor_id}#likes/{secrets.randbits(40)}",
            "type": "Like",
            "actor": user.actor_id,
            "object": object_id,
        }
        return await self._deliver(activity, await self.inbox_of(author, shared=True), user=user)

    async def boost(self, object_id: str, *, user: FakeUser | None = None) -> dict[str, Any]:
        """Reblog a status as Mastodon does (``ActivityPub::ActivitySerializer`` of a reblog:
        ``{actor}/statuses/{id}/activity``, to Public, cc the author and the followers)."""
        user = user or self.user
        author = _id((await self.fetch(object_id)).get("attributedTo")) or ""
        snowflake = (int(time.time() * 1000) << 16) | secrets.randbits(16)
        activity = {
            "@context": AS,
            "id": f"{user.actor_id}/statuses/{snowflake}/activity",
            "type": "Announce",
            "actor": user.actor_id,
            "published": _iso(),
            "to": [PUBLIC],
            "cc": [author, f"{user.actor_id}/followers"],
            "object": object_id,
        }
        return await self._deliver(activity, await self.inbox_of(author, shared=True), user=user)

    async def undo(
        self, activity: dict[str, Any], to_actor: str, *, user: FakeUser | None = None
    ) -> dict[str, Any]:
        """Take back a Like or a reblog (``UndoLikeSerializer``/``UndoAnnounceSerializer``:
        the original activity embedded)."""
        user = user or self.user
        kind = "likes" if activity["type"] == "Like" else "announces"
        undo = {
            "@context": AS,
            "id": f"{user.actor_id}#{kind}/{secrets.randbits(40)}/undo",
            "type": "Undo",
            "actor": user.actor_id,
            "to": activity.get("to", [PUBLIC]),
            "object": {k: v for k, v in activity.items() if k != "@context"},
        }
        return await self._deliver(undo, await self.inbox_of(to_actor, shared=True), user=user)

    async def reply(
        self,
        to_object_id: str,
        text: str,
        *,
        mention: str | None = None,
        user: FakeUser | None = None,
    ) -> dict[str, Any]:
        """Reply to ``to_object_id`` as Mastodon does: a public Create{Note} with inReplyTo, cc
        followers + the mentioned actor (by default the parent's author, read from the parent
        fetched with a signed GET), a Mention tag, delivered to that actor's shared inbox."""
        user = user or self.user
        if mention is None:
            mention = _id((await self.fetch(to_object_id)).get("attributedTo"))
            if mention is None:
                raise InteropError(f"{to_object_id} has no attributedTo")
        mentioned = self.actors.get(mention) or await self.resolve(mention)
        handle = f"@{mentioned.get('preferredUsername')}@{_authority(mention)}"
        profile = mentioned.get("url") if isinstance(mentioned.get("url"), str) else mention
        snowflake = (int(time.time() * 1000) << 16) | secrets.randbits(16)
        note_id = f"{user.actor_id}/statuses/{snowflake}"
        now = _iso()
        html = (
            f'<p><span class="h-card" translate="no"><a href="{escape(profile)}" '
            f'class="u-url mention">@<span>{escape(str(mentioned.get("preferredUsername")))}'
            f"</span></a></span> {escape(text)}</p>"
        )
        cc = [f"{user.actor_id}/followers", mention]
        note = {
            "id": note_id,
            "type": "Note",
            "summary": None,
            "inReplyTo": to_object_id,
            "published": now,
            "url": f"{self.base}/@{user.username}/{snowflake}",
            "attributedTo": user.actor_id,
            "to": [PUBLIC],
            "cc": cc,
            "sensitive": False,
            "atomUri": note_id,
            "inReplyToAtomUri": to_object_id,
            "conversation": f"tag:{self.domain},{now[:10]}:objectId={snowflake}:objectType="
            "Conversation",
            "content": html,
            "contentMap": {"en": html},
            "attachment": [],
            "tag": [{"type": "Mention", "href": mention, "name": handle}],
            "replies": {
                "id": f"{note_id}/replies",
                "type": "Collection",
                "first": {
                    "type": "CollectionPage",
                    "next": f"{note_id}/replies?only_other_accounts=true&page=true",
                    "partOf": f"{note_id}/replies",
                    "items": [],
                },
            },
        }
        self.objects[note_id] = {"@context": MASTODON_NOTE_CONTEXT, **note}
        activity = {
            "@context": MASTODON_NOTE_CONTEXT,
            "id": f"{note_id}/activity",
            "type": "Create",
            "actor": user.actor_id,
            "published": now,
            "to": [PUBLIC],
            "cc": cc,
            "object": note,
        }
        return await self._deliver(activity, await self.inbox_of(mention, shared=True), user=user)

    async def lookup(self, handle: str) -> dict[str, Any]:
        """ResolveAccountService + FetchRemoteAccountService, with their checks."""
        acct = handle.strip().removeprefix("@")
        username, _, domain = acct.rpartition("@")
        jrd = await self.webfinger(acct)
        subject = str(jrd.get("subject", "")).removeprefix("acct:")
        if subject.lower() != f"{username}@{domain}".lower():
            raise InteropError(f"WebFinger subject {jrd.get('subject')!r} is not acct:{acct}")
        href = self.self_link(jrd)
        if href is None:
            raise InteropError(f"{acct}: WebFinger has no ActivityPub self link: {jrd!r}")
        doc = await self.resolve(href)
        problems = self.strict_actor_problems(doc)
        # The account is only trusted once preferredUsername@host WebFingers back to it.
        confirmed = f"{doc.get('preferredUsername')}@{_authority(href)}"
        again = await self.webfinger(confirmed)
        if self.self_link(again) != href:
            problems.append(f"WebFinger of {confirmed} does not point back to {href}")
        if str(again.get("subject", "")).removeprefix("acct:").lower() != confirmed.lower():
            problems.append(f"WebFinger subject for {confirmed} is {again.get('subject')!r}")
        if problems:
            raise InteropError(f"Mastodon would not take {href}: " + "; ".join(problems))
        self.target = href
        return doc

    async def resolve_url(self, url: str) -> dict[str, Any]:
        """What pasting ``url`` into Mastodon's search fetches: FetchResourceService follows
        redirects, then ``fetch_resource`` refetches by the document's own id when that differs
        and insists the id is stable."""
        doc = await self.fetch(url, follow_redirects=True)
        doc_id = doc.get("id")
        if not isinstance(doc_id, str):
            raise InteropError(f"{url} serves a document without id")
        if doc_id != url:
            doc = await self.fetch(doc_id)
            if doc.get("id") != doc_id:
                raise InteropError(f"{doc_id} serves a document with id {doc.get('id')!r}")
        return doc

    def strict_note_problems(self, doc: dict[str, Any], *, embedded: bool = False) -> list[str]:
        """What ActivityPub::Activity::Create / StatusParser need to show a status as a post.
        ``embedded``: the object came inside a collection and inherits its @context."""
        problems: list[str] = []
        note_id = str(doc.get("id", ""))
        if not embedded and AS not in _list(doc.get("@context")):
            problems.append("@context lacks the ActivityStreams context")
        if _first_type(doc) != "Note":
            problems.append(f"first type is {_first_type(doc)!r}: not shown as a post body")
        author = _id(doc.get("attributedTo"))
        if author is None or _authority(author) != _authority(note_id):
            problems.append(f"attributedTo {author!r} is not on the object's host")
        if not isinstance(doc.get("content"), str) or not doc["content"]:
            problems.append("no content")
        if doc.get("summary"):
            problems.append("summary is set: Mastodon shows it as a content warning")
        if doc.get("name") and _first_type(doc) == "Note":
            # GoToSocial internal/typeutils/astointernal.go (ASStatusToStatus): the content
            # warning is the summary, else the name.
            problems.append("name is set: GoToSocial shows it as a content warning")
        if PUBLIC not in _list(doc.get("to")) + _list(doc.get("cc")):
            problems.append("not addressed to Public")
        try:
            datetime.fromisoformat(str(doc.get("published", "")).replace("Z", "+00:00"))
        except ValueError:
            problems.append(f"published {doc.get('published')!r} is not an ISO 8601 time")
        return problems

    def strict_actor_problems(self, doc: dict[str, Any]) -> list[str]:
        """Everything Mastodon's ProcessAccountService needs from an actor, checked."""
        problems: list[str] = []
        actor_id = str(doc.get("id", ""))
        if AS not in _list(doc.get("@context")):
            problems.append("@context lacks the ActivityStreams context")
        if not set(_list(doc.get("type"))) & ACTOR_TYPES:
            problems.append(f"type {doc.get('type')!r} is not an actor type")
        name = doc.get("preferredUsername")
        if not isinstance(name, str) or not USERNAME_RE.fullmatch(name):
            problems.append(f"preferredUsername {name!r} is not a valid username")
        for prop in ("inbox", "outbox", "followers", "following", "featured", "url"):
            value = doc.get(prop)
            if prop == "inbox" and value is None:
                problems.append("no inbox")
            elif value is not None and (not isinstance(value, str) or "://" not in value):
                problems.append(f"{prop} is not a URL: {value!r}")
            elif prop != "url" and value is not None and _authority(value) != _authority(actor_id):
                problems.append(f"{prop} is on another host than the actor")
        endpoints = doc.get("endpoints")
        if endpoints is not None:
            shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
            if not isinstance(shared, str) or _authority(shared) != _authority(actor_id):
                problems.append(f"endpoints.sharedInbox is unusable: {endpoints!r}")
        key = doc.get("publicKey")
        if isinstance(key, list):
            key = key[0] if key else None
        if not isinstance(key, dict):
            problems.append("no publicKey object")
        else:
            if _id(key.get("owner")) != actor_id:
                problems.append(f"publicKey.owner {key.get('owner')!r} is not the actor id")
            if not str(key.get("id", "")).startswith(actor_id):
                problems.append(f"publicKey.id {key.get('id')!r} is not under the actor id")
            try:
                loaded = cavage.load_public_key_pem(str(key.get("publicKeyPem", "")))
            except SignatureError:
                problems.append("publicKeyPem does not parse")
            else:
                if not isinstance(loaded, rsa.RSAPublicKey):
                    problems.append("publicKey is not RSA (Mastodon verifies RSA only)")
        for key_name in ("manuallyApprovesFollowers", "discoverable", "indexable"):
            if key_name in doc and not isinstance(doc[key_name], bool):
                problems.append(f"{key_name} is not a boolean")
        for key_name in ("name", "summary"):
            if doc.get(key_name) is not None and not isinstance(doc[key_name], str):
                problems.append(f"{key_name} is not a string")
        if "published" in doc:
            try:
                datetime.fromisoformat(str(doc["published"]).replace("Z", "+00:00"))
            except ValueError:
                problems.append(f"published {doc['published']!r} is not an ISO 8601 time")
        icon = doc.get("icon")
        if icon is not None and not (isinstance(icon, dict) and isinstance(icon.get("url"), str)):
            problems.append(f"icon has no url: {icon!r}")
        for prop_value in _list(doc.get("attachment")):
            if not isinstance(prop_value, dict) or prop_value.get("type") != "PropertyValue":
                continue
            if not isinstance(prop_value.get("name"), str) or not isinstance(
                prop_value.get("value"), str
            ):
                problems.append(f"PropertyValue without name/value: {prop_value!r}")
        return problems

    async def collection_items(self, url: str | dict[str, Any]) -> list[Any]:
        """Read a collection the way Mastodon's collection fetchers do; its items. An embedded
        collection is used as it is (``JsonLdHelper#fetch_collection_page`` returns a Hash
        unfetched), as ``replies`` arrives from Mastodon and cityfed."""
        if isinstance(url, dict):
            doc, url = url, str(url.get("id"))
        else:
            doc = await self.fetch(url)
        if doc.get("id") != url:
            raise InteropError(f"{url} serves a collection with id {doc.get('id')!r}")
        if _first_type(doc) not in ("OrderedCollection", "Collection"):
            raise InteropError(f"{url} is a {doc.get('type')!r}, not a collection")
        total = doc.get("totalItems")
        if total is not None and (not isinstance(total, int) or total < 0):
            raise InteropError(f"{url}: totalItems {total!r}")
        items = doc.get("orderedItems", doc.get("items"))
        if items is None and doc.get("first") is not None:
            first = doc["first"]
            page = first if isinstance(first, dict) else await self.fetch(first)
            if _first_type(page) not in ("OrderedCollectionPage", "CollectionPage"):
                raise InteropError(f"{url}: first page is a {page.get('type')!r}")
            if _id(page.get("partOf")) != url:
                raise InteropError(f"{url}: first page is partOf {page.get('partOf')!r}")
            items = page.get("orderedItems", page.get("items"))
        if items is None:
            return []
        if not isinstance(items, list):
            raise InteropError(f"{url}: items is not a list")
        return items


class GoToSocialPeer(FakePeer):
    """Mirrors superseriousbusiness/gotosocial: documents from internal/typeutils/internaltoas.go,
    the public-key stub from internal/api/activitypub/publickey/, signing from
    internal/transport/signing.go, the inbox from internal/federation/federatingactor.go."""

    flavor = "gotosocial"
    user_agent = "gotosocial (+http://gts.example) gotosocial/0.17.3"
    always_authorized_fetch = True
    has_shared_inbox = False
    ap_content_type = "application/activity+json"
    jrd_content_type = "application/jrd+json"

    def instance_username(self) -> str:
        return "127.0.0.1"  # the instance account is named after the host

    def key_id_for(self, actor_id: str) -> str:
        return f"{actor_id}/main-key"

    def key_fetcher(self, recipient: FakeUser | None) -> FakeUser:
        # Keys are dereferenced with the transport of the account the request is for.
        return recipient or self.instance

    def actor_document(self, user: FakeUser) -> dict[str, Any]:
        actor = user.actor_id
        # GoToSocial serialises through a map: keys come out sorted.
        doc = {
            "@context": GOTOSOCIAL_CONTEXT,
            "discoverable": False,
            "featured": f"{actor}/collections/featured",
            "followers": f"{actor}/followers",
            "following": f"{actor}/following",
            "id": actor,
            "inbox": f"{actor}/inbox",
            "manuallyApprovesFollowers": user.locked,
            "name": user.name,
            "outbox": f"{actor}/outbox",
            "preferredUsername": user.username,
            "publicKey": {"id": user.key_id, "owner": actor, "publicKeyPem": public_pem(user.key)},
            "published": "2023-04-01T00:00:00Z",
            "summary": user.summary,
            "tag": [],
            "type": "Application" if user.instance else "Person",
            "url": f"{self.base}/@{user.username}",
        }
        return doc

    def key_document(self, user: FakeUser) -> dict[str, Any] | None:
        # The "stub actor" at .../main-key: no inbox, id = the actor, servable unsigned.
        return {
            "@context": [SECURITY, AS],
            "id": user.actor_id,
            "preferredUsername": user.username,
            "publicKey": {
                "id": user.key_id,
                "owner": user.actor_id,
                "publicKeyPem": public_pem(user.key),
            },
            "type": "Person",
        }

    def webfinger_document(self, user: FakeUser) -> dict[str, Any]:
        return {
            "subject": f"acct:{user.username}@{self.domain}",
            "aliases": [user.actor_id, f"{self.base}/@{user.username}"],
            "links": [
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": f"{self.base}/@{user.username}",
                },
                {"rel": "self", "type": ACTIVITY_JSON, "href": user.actor_id},
            ],
        }

    def sign(
        self, method: str, url: str, user: FakeUser, body: bytes | None = None
    ) -> dict[str, str]:
        values = {"Host": urlsplit(url).netloc, "Date": format_http_date()}
        names = ["(request-target)", "host", "date"]
        extra = {"Accept": f"{LD_JSON_AS},{ACTIVITY_JSON}"}
        if body is not None:
            values["Digest"] = digest_header(body)
            names.append("digest")
            extra = {"Content-Type": ACTIVITY_JSON}
        signature = self._signature(
            user, method, self._target(url), names, values, algorithm="hs2019"
        )
        return {**values, **extra, "Signature": signature, "User-Agent": self.user_agent}

    def content_type_refusal(self, content_type: str) -> int | None:
        # apiutil.ASContentType: activity+json, or ld+json with the ActivityStreams profile.
        main = content_type.split(";")[0].strip().lower()
        as_ld = main == "application/ld+json" and "activitystreams" in content_type
        return None if main == ACTIVITY_JSON or as_ld else 406

    def follow_activity(self, user: FakeUser, target: str) -> dict[str, Any]:
        return {
            "@context": AS,
            "actor": user.actor_id,
            "id": f"{user.actor_id}/follow/{_ulid()}",
            "object": target,
            "to": target,
            "type": "Follow",
        }

    def undo_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        return {
            "@context": AS,
            "actor": user.actor_id,
            "id": f"{follow['id']}/undo",
            "object": follow,
            "to": _id(follow.get("object")),
            "type": "Undo",
        }

    def accept_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        follower = _id(follow.get("actor"))
        return {
            "@context": AS,
            "actor": user.actor_id,
            "id": f"{user.actor_id}/accepts/{_ulid()}",
            "object": {
                "actor": follower,
                "id": follow["id"],
                "object": user.actor_id,
                "type": "Follow",
            },
            "to": follower,
            "type": "Accept",
        }


class MisskeyPeer(FakePeer):
    """Mirrors misskey-dev/misskey packages/backend/src: documents from
    core/activitypub/ApRendererService.ts, signing from core/activitypub/ApRequestService.ts, the
    inbox from server/ActivityPubServerService.ts, NodeInfo from
    core/FetchInstanceMetadataService.ts."""

    flavor = "misskey"
    user_agent = "Misskey/2024.11.0 (http://misskey.example)"
    max_inbox_bytes = 64 * 1024  # fastify bodyLimit of the inbox routes

    def instance_username(self) -> str:
        return "instance.actor"

    def uid_for(self, username: str) -> str:
        return _aid()

    def actor_document(self, user: FakeUser) -> dict[str, Any]:
        actor = user.actor_id
        return {
            "@context": MISSKEY_CONTEXT,
            "type": "Application" if user.instance else "Person",
            "id": actor,
            "inbox": f"{actor}/inbox",
            "outbox": f"{actor}/outbox",
            "followers": f"{actor}/followers",
            "following": f"{actor}/following",
            "featured": f"{actor}/collections/featured",
            "sharedInbox": f"{self.base}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "url": f"{self.base}/@{user.username}",
            "preferredUsername": user.username,
            "name": user.name,
            "summary": f"<p>{escape(user.summary)}</p>" if user.summary else None,
            "_misskey_summary": user.summary or None,
            "_misskey_followedMessage": None,
            "_misskey_requireSigninToViewContents": False,
            "_misskey_makeNotesFollowersOnlyBefore": None,
            "_misskey_makeNotesHiddenBefore": None,
            "icon": None,
            "image": None,
            "tag": [],
            "manuallyApprovesFollowers": user.locked,
            "discoverable": True,
            "publicKey": {
                "id": user.key_id,
                "type": "Key",
                "owner": actor,
                "publicKeyPem": public_pem(user.key),
            },
            "isCat": False,
        }

    def webfinger_document(self, user: FakeUser) -> dict[str, Any]:
        return {
            "subject": f"acct:{user.username}@{self.domain}",
            "links": [
                {"rel": "self", "type": ACTIVITY_JSON, "href": user.actor_id},
                {
                    "rel": "http://webfinger.net/rel/profile-page",
                    "type": "text/html",
                    "href": f"{self.base}/@{user.username}",
                },
                {
                    "rel": "http://ostatus.org/schema/1.0/subscribe",
                    "template": f"{self.base}/authorize-follow?acct={{uri}}",
                },
            ],
        }

    async def webfinger_endpoint(self, base: str, acct: str) -> str:
        # WebfingerService reads the lrdd template from host-meta first.
        template = f"{base}/.well-known/webfinger?resource={{uri}}"
        try:
            async with self.http.get(f"{base}/.well-known/host-meta") as resp:
                if resp.status == 200:
                    root = ElementTree.fromstring(await resp.read())
                    for link in root.iter("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link"):
                        if link.get("rel") == "lrdd" and "{uri}" in (link.get("template") or ""):
                            template = link.get("template") or template
        except (aiohttp.ClientError, ElementTree.ParseError):
            pass
        return template.replace("{uri}", quote(f"acct:{acct}", safe=""))

    def sign(
        self, method: str, url: str, user: FakeUser, body: bytes | None = None
    ) -> dict[str, str]:
        # ApRequestCreator signs ``new URL(url).pathname``: the query is left out.
        target = self._target(url, query=False)
        values = {"Date": format_http_date(), "Host": urlsplit(url).netloc}
        if body is not None:
            values = {
                **values,
                "Content-Type": ACTIVITY_JSON,
                "Digest": digest_header(body),
            }
            names = ["(request-target)", "date", "host", "digest"]
        else:
            values = {"Accept": f"{ACTIVITY_JSON}, {LD_JSON_AS}", **values}
            names = ["(request-target)", "date", "host", "accept"]
        signature = self._signature(user, method, target, names, values)
        sent = {**values, "Signature": signature, "User-Agent": self.user_agent}
        del sent["Host"]  # "node-fetch will generate this for us"
        return sent

    def signature_policy(self, sig: cavage.CavageSignature, request: web.Request) -> str | None:
        if "host" not in sig.headers or request.headers.get("Host") != self.domain:
            return "Host not signed or not ours"
        if request.method == "POST" and "digest" not in sig.headers:
            return "Digest not signed"
        return None

    def check_digest(self, value: str | None, body: bytes) -> str | None:
        match = re.fullmatch(r"([a-zA-Z0-9\-]+)=(.+)", value or "")
        if match is None or match[1].upper() != "SHA-256":
            return "Digest missing or not SHA-256"
        if match[2] != base64.b64encode(hashlib.sha256(body).digest()).decode("ascii"):
            return "Digest does not match the body"
        return None

    def content_type_refusal(self, content_type: str) -> int | None:
        main = content_type.split(";")[0].strip().lower()
        return None if main in (ACTIVITY_JSON, "application/ld+json") else 415

    def _unauthorized(self, reason: str) -> web.Response:
        return web.Response(status=401)  # Misskey says nothing

    def follow_activity(self, user: FakeUser, target: str) -> dict[str, Any]:
        return {
            "@context": MISSKEY_CONTEXT,
            "id": f"{self.base}/follows/{user.uid}/{_aid()}",
            "type": "Follow",
            "actor": user.actor_id,
            "object": target,
        }

    def undo_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        return {
            "@context": MISSKEY_CONTEXT,
            "type": "Undo",
            "id": f"{follow['id']}/undo",
            "actor": user.actor_id,
            "object": follow,
            "published": _iso(),
        }

    def accept_activity(self, user: FakeUser, follow: dict[str, Any]) -> dict[str, Any]:
        # renderAccept has no id; addContext gives every activity ``{url}/{uuid}``.
        return {
            "@context": MISSKEY_CONTEXT,
            "type": "Accept",
            "actor": user.actor_id,
            "object": {
                "id": follow["id"],
                "type": "Follow",
                "actor": _id(follow.get("actor")),
                "object": user.actor_id,
            },
            "id": f"{self.base}/{uuid.uuid4()}",
        }


PEER_CLASSES: dict[str, type[FakePeer]] = {
    cls.flavor: cls for cls in (MastodonPeer, GoToSocialPeer, MisskeyPeer)
}


@asynccontextmanager
async def running_peer(
    flavor: str, *, http: aiohttp.ClientSession | None = None, **kwargs: Any
) -> AsyncIterator[FakePeer]:
    """Serve a fake ``flavor`` server for the duration of the block."""
    async with AsyncExitStack() as stack:
        if http is None:
            http = await stack.enter_async_context(aiohttp.ClientSession())
        peer = PEER_CLASSES[flavor](http, **kwargs)
        await peer.start()
        stack.push_async_callback(peer.stop)
        yield peer


__all__ = [
    "FLAVORS",
    "FakePeer",
    "FakeUser",
    "GoToSocialPeer",
    "InteropError",
    "MastodonPeer",
    "MisskeyPeer",
    "Received",
    "Sent",
    "running_peer",
]
