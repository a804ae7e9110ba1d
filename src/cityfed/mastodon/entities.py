"""Mastodon entities (docs.joinmastodon.org/entities/) built from what a node stores.

Plain functions from rows to the JSON dicts Mastodon apps read: ``account_entity`` (a city, ours or
a partner), ``status_entity`` (a project, challenge or comment), ``tag_entity``, and the instance
documents. Every attribute Mastodon documents as required is present with its documented type
(``null`` where it is nullable), ids are strings (mastodon/ids.py says how they are made), times
are ISO 8601 with milliseconds and a ``Z``, as Mastodon writes them.

A project or challenge becomes a public status whose ``content`` is the card its document carries
for Mastodon users already (title, teaser, phase, hashtags, link: DESIGN §4), so an app shows the
same thing a Mastodon user following the city sees. A comment is a status replying to the object
it comments on. No database access here: callers (the routes in this package, and the signed-in
endpoints) query models/ and hand the rows in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote

from cityfed.activitypub.nodeinfo import MASTODON_API_VERSION
from cityfed.activitypub.sanitize import sanitize_html
from cityfed.activitypub.vocab.city_object import title_of
from cityfed.activitypub.vocab.common import id_of
from cityfed.mastodon.ids import account_id, status_id
from cityfed.models.tables import Actor, Object

# The version apps see: a Mastodon version they know the API of, and who we really are.
# Mastodon.py reads the leading x.y.z to decide which methods exist; megalodon and other apps
# look for "compatible" to tell a Mastodon-API-speaking server that is not Mastodon.
SOURCE_URL = "https://codeberg.org/cityfed/cityfed"
DEFAULT_AVATAR_PATH = "/static/avatar.png"
MAX_CHARACTERS = 5000
VISIBILITY_PUBLIC = "public"


def mastodon_version(software_version: str) -> str:
    return f"{MASTODON_API_VERSION} (compatible; cityfed {software_version})"


def timestamp(value: datetime) -> str:
    """Mastodon's datetime format: UTC, milliseconds, ``Z``."""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def day(value: datetime) -> str:
    """Mastodon's date format (``last_status_at``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d")


# --- accounts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountStats:
    statuses: int = 0
    followers: int = 0
    following: int = 0
    last_status_at: datetime | None = None


def acct_of(actor: Actor) -> str:
    """``handle`` for our own cities, ``handle@domain`` for partners (Mastodon's ``acct``)."""
    return actor.handle if actor.local else f"{actor.handle}@{actor.domain}"


def _fields(actor: Actor) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = []
    if actor.website:
        href = quote(actor.website, safe=":/?#[]@!$&'()*+,;=%~")
        fields.append(
            {
                "name": "Website",
                "value": f'<a href="{href}" rel="me nofollow noopener" target="_blank">'
                f"{escape(actor.website)}</a>",
                "verified_at": None,
            }
        )
    if actor.contact:
        fields.append({"name": "Contact", "value": escape(actor.contact), "verified_at": None})
    return fields


def account_entity(
    actor: Actor, *, base_url: str, stats: AccountStats | None = None
) -> dict[str, Any]:
    """The Account entity of a city (ours or a partner's copy).

    ``base_url`` is this node's (for the default avatar); ``stats`` the counts clients show,
    which the caller queries (zeros when not given).
    """
    stats = stats or AccountStats()
    avatar = actor.icon_url or f"{base_url}{DEFAULT_AVATAR_PATH}"
    return {
        "id": account_id(actor.id),
        "username": actor.handle,
        "acct": acct_of(actor),
        "url": actor.url or actor.ap_id,
        "uri": actor.ap_id,
        "display_name": actor.name or actor.handle,
        # A partner's bio is stored as it arrived: cleaned here to Mastodon's allowed HTML, as
        # Mastodon does before any app sees it (apps trust the server's HTML).
        "note": (actor.summary or "") if actor.local else sanitize_html(actor.summary or ""),
        "avatar": avatar,
        "avatar_static": avatar,
        # Without a header picture Mastodon sends its "missing" image; we send the avatar.
        "header": actor.header_url or avatar,
        "header_static": actor.header_url or avatar,
        "locked": bool(actor.manually_approves_followers),
        "fields": _fields(actor),
        "emojis": [],
        "bot": actor.type in ("Application", "Service"),
        # A city is an organisation, not a group (a Mastodon "group" reposts its mentions).
        "group": False,
        "discoverable": True,
        "indexable": True,
        "noindex": False,
        "hide_collections": False,
        "roles": [],
        "created_at": timestamp(_midnight(actor.created_at)),
        "last_status_at": day(stats.last_status_at) if stats.last_status_at else None,
        "statuses_count": stats.statuses,
        "followers_count": stats.followers,
        "following_count": stats.following,
    }


def _midnight(value: datetime) -> datetime:
    # Mastodon rounds an account's creation to the day, so it says nothing finer about anyone.
    return value.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


# --- statuses -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusCounts:
    replies: int = 0
    reblogs: int = 0
    favourites: int = 0


@dataclass(frozen=True, slots=True)
class Viewer:
    """What a signed-in viewer did with a status (only sent to signed-in apps)."""

    favourited: bool = False
    reblogged: bool = False
    bookmarked: bool = False
    muted: bool = False
    pinned: bool | None = None


def tag_url(base_url: str, name: str) -> str:
    return f"{base_url}/tags/{quote(name)}"


def hashtags(document: Mapping[str, Any]) -> list[str]:
    """The hashtag names (without '#') of a stored document, in order, once each."""
    raw = document.get("tag")
    items = raw if isinstance(raw, list) else [raw]
    names: list[str] = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        kinds = kind if isinstance(kind, list) else [kind]
        name = item.get("name")
        if "Hashtag" in kinds and isinstance(name, str) and name.strip("#"):
            names.append(name.removeprefix("#"))
    return list(dict.fromkeys(names))


def _mentions(document: Mapping[str, Any], accounts: Mapping[str, Actor]) -> list[dict[str, Any]]:
    """Mentions whose actor we know (``accounts`` by actor id); others can't carry an id."""
    raw = document.get("tag")
    items = raw if isinstance(raw, list) else [raw]
    found: list[dict[str, Any]] = []
    for item in items:
        if not isinstance(item, Mapping) or item.get("type") != "Mention":
            continue
        actor = accounts.get(id_of(item.get("href")) or "")
        if actor is not None:
            found.append(
                {
                    "id": account_id(actor.id),
                    "username": actor.handle,
                    "url": actor.url or actor.ap_id,
                    "acct": acct_of(actor),
                }
            )
    return found


def language_of(document: Mapping[str, Any]) -> str | None:
    """The language of the stored content: the contentMap key whose text is ``content`` (our
    documents put the primary language first), else its first key."""
    content_map = document.get("contentMap")
    if not isinstance(content_map, Mapping) or not content_map:
        return None
    content = document.get("content")
    for lang, text in content_map.items():
        if text == content:
            return str(lang)
    return str(next(iter(content_map)))


def content_of(document: Mapping[str, Any]) -> str:
    content = document.get("content")
    if isinstance(content, str):
        return content
    content_map = document.get("contentMap")
    if isinstance(content_map, Mapping):
        return next((text for text in content_map.values() if isinstance(text, str)), "")
    return ""


def status_entity(
    obj: Object,
    account: Mapping[str, Any],
    *,
    base_url: str,
    counts: StatusCounts | None = None,
    in_reply_to: tuple[str, str] | None = None,
    media_attachments: Sequence[Mapping[str, Any]] | None = None,
    mentioned: Mapping[str, Actor] | None = None,
    viewer: Viewer | None = None,
) -> dict[str, Any]:
    """The Status entity of a stored object.

    ``account`` is its author's Account entity (``account_entity``); ``in_reply_to`` the
    (status id, account id) of what it replies to, when we hold that; ``media_attachments``
    MediaAttachment entities (None: those of the document's ``attachment``); ``mentioned``
    the known actors by AP id, for ``mentions``; ``viewer`` what the signed-in viewer did with
    it (None for anonymous reading: the viewer-dependent attributes are then left out, as
    Mastodon does).
    """
    counts = counts or StatusCounts()
    document = obj.document
    names = hashtags(document)
    url = id_of(document.get("url")) or obj.ap_id
    entity: dict[str, Any] = {
        "id": status_id(obj.published, obj.id),
        "uri": obj.ap_id,
        "url": url,
        "created_at": timestamp(obj.published),
        "edited_at": timestamp(obj.updated) if obj.updated else None,
        "account": dict(account),
        # Partners' projects are stored as they arrived: their HTML is cleaned here (our own
        # cards and comments are cleaned or escaped when written).
        "content": content_of(document) if obj.local else sanitize_html(content_of(document)),
        "visibility": VISIBILITY_PUBLIC,
        "sensitive": False,
        "spoiler_text": "",
        "media_attachments": (
            media_entities(document)
            if media_attachments is None
            else [dict(item) for item in media_attachments]
        ),
        "application": None,
        "mentions": _mentions(document, mentioned or {}),
        "tags": [tag_entity(name, base_url=base_url) for name in names],
        "emojis": [],
        "reblogs_count": counts.reblogs,
        "favourites_count": counts.favourites,
        "replies_count": counts.replies,
        "quotes_count": 0,
        "in_reply_to_id": in_reply_to[0] if in_reply_to else None,
        "in_reply_to_account_id": in_reply_to[1] if in_reply_to else None,
        "reblog": None,
        "poll": None,
        "card": None,
        "language": language_of(document),
        "text": None,
        "filtered": [],
    }
    if viewer is not None:
        entity.update(
            favourited=viewer.favourited,
            reblogged=viewer.reblogged,
            bookmarked=viewer.bookmarked,
            muted=viewer.muted,
        )
        if viewer.pinned is not None:
            entity["pinned"] = viewer.pinned
    return entity


# ActivityStreams attachment type -> Mastodon's MediaAttachment type.
_MEDIA_KINDS = {"Image": "image", "Video": "video", "Audio": "audio", "Document": "unknown"}


def media_entities(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """MediaAttachment entities from a document's ``attachment`` (Image/Document with
    ``mediaType``, ``url``, ``name`` as alt text, ``width``/``height``, ``blurhash``,
    ``focalPoint``: DESIGN §4, as Mastodon sends media), in order.

    Ids are derived from the URL (a number from its SHA-256), so they are stable strings
    without a table of their own.
    """
    raw = document.get("attachment")
    found: list[dict[str, Any]] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, Mapping):
            continue
        kind = item.get("type")
        url = _media_url(item.get("url"))
        if not isinstance(kind, str) or kind not in _MEDIA_KINDS or url is None:
            continue
        media_type = item.get("mediaType")
        mastodon_kind = _MEDIA_KINDS[kind]
        if kind == "Document" and isinstance(media_type, str):
            # Mastodon sends images as Documents: the media type tells.
            mastodon_kind = next(
                (v for k, v in _MEDIA_KINDS.items() if media_type.startswith(v + "/")), "unknown"
            )
        meta: dict[str, Any] = {}
        width, height = item.get("width"), item.get("height")
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            original = {"width": width, "height": height, "size": f"{width}x{height}"}
            meta["original"] = {**original, "aspect": round(width / height, 6)}
        focal = item.get("focalPoint")
        if isinstance(focal, list) and len(focal) == 2:
            meta["focus"] = {"x": focal[0], "y": focal[1]}
        name = item.get("name")
        blurhash = item.get("blurhash")
        found.append(
            {
                "id": str(int(hashlib.sha256(url.encode()).hexdigest()[:15], 16)),
                "type": mastodon_kind,
                "url": url,
                # Clients show a preview for every kind; the original serves as one.
                "preview_url": url,
                "remote_url": None,
                "meta": meta,
                "description": name if isinstance(name, str) else None,
                "blurhash": blurhash if isinstance(blurhash, str) else None,
            }
        )
    return found


def _media_url(value: Any) -> str | None:
    """An attachment's ``url``: a string, a Link, or a list of them (the first one)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Mapping):
        value = value.get("href")
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        return value
    return None


def object_title(obj: Object) -> str | None:
    """A project's or challenge's title (for search results and logs)."""
    return title_of(obj.document)


# --- tags ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagUse:
    """One day of a hashtag's history: uses that day and how many accounts used it."""

    day: datetime
    uses: int
    accounts: int


def tag_entity(
    name: str, *, base_url: str, history: Sequence[TagUse] = (), following: bool | None = None
) -> dict[str, Any]:
    """The Tag entity; ``history`` newest day first (trends send seven days)."""
    entity: dict[str, Any] = {
        "name": name,
        "url": tag_url(base_url, name),
        "history": [
            {
                # Mastodon sends these three as strings (UNIX day start, counts).
                "day": str(int(use.day.replace(tzinfo=UTC).timestamp())),
                "uses": str(use.uses),
                "accounts": str(use.accounts),
            }
            for use in history
        ],
    }
    if following is not None:
        entity["following"] = following
    return entity


# --- the instance -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InstanceFacts:
    """What the instance documents say about this node; the counts match NodeInfo's."""

    domain: str
    base_url: str
    streaming_url: str
    title: str
    description: str
    software_version: str
    users: int
    statuses: int
    domains: int
    languages: Sequence[str]
    contact_account: Mapping[str, Any] | None = None
    contact_email: str = ""


_MEDIA_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"]
_MEDIA_LIMITS = {
    "image_size_limit": 16 * 1024 * 1024,
    "image_matrix_limit": 33_177_600,
    "video_size_limit": 0,
    "video_frame_rate_limit": 0,
    "video_matrix_limit": 0,
}
_POLLS = {
    "max_options": 0,
    "max_characters_per_option": 0,
    "min_expiration": 0,
    "max_expiration": 0,
}


def _statuses_configuration() -> dict[str, Any]:
    return {
        "max_characters": MAX_CHARACTERS,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }


def instance_v1(facts: InstanceFacts) -> dict[str, Any]:
    """GET /api/v1/instance (Mastodon's V1::Instance entity)."""
    return {
        "uri": facts.domain,
        "title": facts.title,
        "short_description": facts.description,
        "description": facts.description,
        "email": facts.contact_email,
        "version": mastodon_version(facts.software_version),
        "urls": {"streaming_api": facts.streaming_url},
        "stats": {
            "user_count": facts.users,
            "status_count": facts.statuses,
            "domain_count": facts.domains,
        },
        "thumbnail": None,
        "languages": list(facts.languages),
        "registrations": False,
        "approval_required": False,
        "invites_enabled": False,
        "configuration": {
            "accounts": {"max_featured_tags": 0},
            "statuses": _statuses_configuration(),
            "media_attachments": {"supported_mime_types": _MEDIA_TYPES, **_MEDIA_LIMITS},
            "polls": _POLLS,
        },
        "contact_account": dict(facts.contact_account) if facts.contact_account else None,
        "rules": [],
    }


def instance_v2(facts: InstanceFacts) -> dict[str, Any]:
    """GET /api/v2/instance (Mastodon's Instance entity)."""
    return {
        "domain": facts.domain,
        "title": facts.title,
        "version": mastodon_version(facts.software_version),
        "source_url": SOURCE_URL,
        "description": facts.description,
        "usage": {"users": {"active_month": facts.users}},
        "thumbnail": {"url": f"{facts.base_url}{DEFAULT_AVATAR_PATH}"},
        "icon": [],
        "languages": list(facts.languages),
        "configuration": {
            "urls": {"streaming": facts.streaming_url, "status": None},
            "vapid": {"public_key": ""},
            "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 20},
            "statuses": _statuses_configuration(),
            "media_attachments": {
                "supported_mime_types": _MEDIA_TYPES,
                "description_limit": 1500,
                **_MEDIA_LIMITS,
            },
            "polls": _POLLS,
            "translation": {"enabled": False},
            # Mastodon 4.5: who may read which feed. All open: a city's feeds are public (the
            # remote ones are empty, a city node keeps no federated timeline).
            "timelines_access": {
                feed: {"local": "public", "remote": "public"}
                for feed in ("live_feeds", "hashtag_feeds", "trending_link_feeds")
            },
        },
        "registrations": {
            "enabled": False,
            "approval_required": False,
            "message": None,
            "url": None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {
            "email": facts.contact_email,
            "account": dict(facts.contact_account) if facts.contact_account else None,
        },
        "rules": [],
    }
