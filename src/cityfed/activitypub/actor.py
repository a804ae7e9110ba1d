"""Actor documents: build ours (§4 City, the instance actor) and read remote ones.

Pure: takes plain values, returns plain JSON-ready dicts; no database, no HTTP.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cityfed.activitypub.jsonld import actor_context
from cityfed.activitypub.links import UnsafeLinkError, check_links
from cityfed.activitypub.profile import Field, ImageRef, image_url
from cityfed.activitypub.sanitize import sanitize_html
from cityfed.activitypub.timefmt import format_datetime, parse_datetime
from cityfed.activitypub.vocab.common import as_list, first_of

ACTOR_TYPES = frozenset({"Person", "Organization", "Application", "Group", "Service"})


@dataclass(frozen=True, slots=True)
class PublicKeyInfo:
    key_id: str
    owner: str
    pem: str
    # After a rotation the old key is listed until it expires (security vocabulary
    # ``expires``), so stragglers still verify and everyone knows when to stop trusting it.
    expires: datetime | None = None

    def to_ap(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"id": self.key_id, "owner": self.owner, "publicKeyPem": self.pem}
        if self.expires is not None:
            doc["expires"] = format_datetime(self.expires)
        return doc


@dataclass(frozen=True, slots=True)
class MultikeyInfo:
    key_id: str
    controller: str
    multibase: str


@dataclass(frozen=True, slots=True)
class LocalActorDocument:
    """Everything needed to render one of our actors as JSON-LD."""

    id: str
    type: str
    handle: str
    name: str
    summary_html: str
    url: str
    inbox: str
    outbox: str
    followers: str | None  # None: not advertised (the instance actor has none)
    following: str | None
    featured: str | None
    shared_inbox: str
    public_key: PublicKeyInfo
    published: datetime
    assertion_methods: tuple[MultikeyInfo, ...] = ()
    previous_keys: tuple[PublicKeyInfo, ...] = ()
    manually_approves_followers: bool = False
    icon: ImageRef | None = None  # the avatar
    image: ImageRef | None = None  # the header
    fields: tuple[Field, ...] = ()  # PropertyValue attachments, in order
    official_identifier: str | None = None
    # When the profile last changed: lets a follower drop an older Update that arrives after a
    # newer one (deliveries are not ordered), as it does for objects (§5).
    updated: datetime | None = None
    # Listed in account search and indexable; the instance actor is not a city to find.
    discoverable: bool = True

    def to_ap(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": actor_context(),
            "id": self.id,
            "type": self.type,
            "preferredUsername": self.handle,
            "name": self.name,
            "summary": self.summary_html,
            "url": self.url,
            "inbox": self.inbox,
            "outbox": self.outbox,
            "endpoints": {"sharedInbox": self.shared_inbox},
            # Mastodon reads the first key only, so the current one always comes first.
            "publicKey": (
                [self.public_key.to_ap(), *(key.to_ap() for key in self.previous_keys)]
                if self.previous_keys
                else self.public_key.to_ap()
            ),
            "manuallyApprovesFollowers": self.manually_approves_followers,
            "discoverable": self.discoverable,
            "indexable": self.discoverable,
            "published": format_datetime(self.published),
        }
        # Only collections that answer: a link that 404s costs every fetcher a warning.
        if self.followers:
            doc["followers"] = self.followers
        if self.following:
            doc["following"] = self.following
        if self.featured:
            doc["featured"] = self.featured
        if self.assertion_methods:
            doc["assertionMethod"] = [
                {
                    "id": key.key_id,
                    "type": "Multikey",
                    "controller": key.controller,
                    "publicKeyMultibase": key.multibase,
                }
                for key in self.assertion_methods
            ]
        if self.icon:
            doc["icon"] = self.icon.to_ap()
        if self.image:
            doc["image"] = self.image.to_ap()
        if self.fields:
            doc["attachment"] = [f.to_ap() for f in self.fields]
        if self.official_identifier:
            doc["cf:officialIdentifier"] = self.official_identifier
        if self.updated is not None:
            doc["updated"] = format_datetime(self.updated)
        return doc


class ActorParseError(ValueError):
    """A remote actor document lacks something we need to talk to it."""


@dataclass(slots=True)
class RemoteActor:
    """The parts of a remote actor document that federation needs."""

    id: str
    type: str
    handle: str
    inbox: str
    shared_inbox: str | None = None
    outbox: str | None = None
    followers: str | None = None
    following: str | None = None
    name: str | None = None
    summary: str | None = None
    url: str | None = None
    icon_url: str | None = None
    header_url: str | None = None
    updated: datetime | None = None
    manually_approves_followers: bool = False
    public_keys: list[PublicKeyInfo] = field(default_factory=list)
    multikeys: list[MultikeyInfo] = field(default_factory=list)

    @property
    def domain(self) -> str:
        return authority(self.id)

    @classmethod
    def from_ap(cls, doc: dict[str, Any]) -> RemoteActor:
        try:
            check_links(doc)
        except UnsafeLinkError as exc:
            raise ActorParseError(str(exc)) from None
        actor_id = _str(doc.get("id"))
        if not actor_id or not is_http_url(actor_id):
            raise ActorParseError("actor has no http(s) id")
        types = as_list(doc.get("type"))
        actor_type = next((t for t in types if t in ACTOR_TYPES), None)
        if actor_type is None:
            raise ActorParseError(f"not an actor type: {types!r}")
        inbox = _str(doc.get("inbox"))
        if not inbox or not is_http_url(inbox):
            raise ActorParseError("actor has no inbox")
        endpoints: dict[str, Any] = (
            doc["endpoints"] if isinstance(doc.get("endpoints"), dict) else {}
        )
        shared_inbox = _str(endpoints.get("sharedInbox")) or None
        if shared_inbox and not is_http_url(shared_inbox):
            shared_inbox = None
        handle = (
            _str(doc.get("preferredUsername"))
            or urlsplit(actor_id).path.rstrip("/").rsplit("/", 1)[-1]
        )
        keys = []
        for entry in as_list(doc.get("publicKey")):
            if isinstance(entry, dict) and isinstance(entry.get("publicKeyPem"), str):
                key_id = _str(entry.get("id"))
                owner = _str(entry.get("owner")) or actor_id
                if key_id:
                    keys.append(
                        PublicKeyInfo(
                            key_id, owner, entry["publicKeyPem"], _timestamp(entry.get("expires"))
                        )
                    )
        multikeys = []
        for entry in as_list(doc.get("assertionMethod")):
            if (
                isinstance(entry, dict)
                and entry.get("type") == "Multikey"
                and isinstance(entry.get("publicKeyMultibase"), str)
                and _str(entry.get("id"))
            ):
                controller = _str(entry.get("controller")) or actor_id
                multikeys.append(MultikeyInfo(entry["id"], controller, entry["publicKeyMultibase"]))
        return cls(
            id=actor_id,
            type=actor_type,
            handle=handle,
            inbox=inbox,
            shared_inbox=shared_inbox,
            outbox=_str(doc.get("outbox")) or None,
            followers=_str(doc.get("followers")) or None,
            following=_str(doc.get("following")) or None,
            name=_str(doc.get("name")) or None,
            # Sanitised once here (§6): whatever shows it later gets Mastodon's allowed set.
            summary=sanitize_html(_str(doc.get("summary"))) or None,
            url=_str(first_of(doc.get("url"))) or None,
            icon_url=image_url(doc.get("icon")),
            header_url=image_url(doc.get("image")),
            updated=_timestamp(doc.get("updated")),
            manually_approves_followers=doc.get("manuallyApprovesFollowers") is True,
            public_keys=keys,
            multikeys=multikeys,
        )


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _str(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("href") or value.get("id")
    return value if isinstance(value, str) else ""


@functools.lru_cache(maxsize=8192)
def is_http_url(value: str) -> bool:
    """Cached: asked of the same actor and key ids on every request they sign."""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return False
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=8192)
def origin_of(url: str) -> str:
    """``scheme://netloc/`` of an http(s) URL as written (empty for anything else).

    A URL that starts with it has the same authority; one that does not may still have it
    (``authority()`` normalises case and default ports) and must be compared the slow way.
    """
    parts = urlsplit(url)
    if not is_http_url(url) or "@" in parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}/"


def normal_host(host: str) -> str:
    """A host name as peers are keyed (§7): lower case, no trailing dot, IDNA's ASCII form.

    ``city.example.`` is the fully qualified ``city.example``, and ``bücher.example`` is
    ``xn--bcher-kva.example`` on the wire: one peer each, whichever way a document writes it.
    """
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid name: kept as is, it matches no policy key
        return host


@functools.lru_cache(maxsize=8192)
def authority(url: str) -> str:
    """host[:port] of a URL, normalised (``normal_host``), default ports dropped: the unit of
    peer policy (§7).

    Cached: the inbox asks it several times per request, mostly of the same actor and key ids.
    """
    parts = urlsplit(url)
    host = normal_host(parts.hostname or "")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # not a number: no peer's authority, and no reason to crash a request
        return parts.netloc.lower()
    if port is None or (parts.scheme, port) in {("https", 443), ("http", 80)}:
        return host
    return f"{host}:{port}"
