"""Attachments (§4, issue 16): pictures as ``Image``, files as ``Document``, as Mastodon sends.

What the fediverse reads, from their sources:

- Mastodon (``app/lib/activitypub/parser/media_attachment_parser.rb``, ``activity/create.rb``):
  ``url`` (a string or a Link), ``mediaType``, ``name`` (or ``summary``) as the description,
  ``blurhash`` (only when it decodes to at most 5x5 components), ``focalPoint`` as ``[x, y]`` in
  [-1, 1]. It downloads the file and decides image/video/unknown by its content; ``width`` and
  ``height`` are read by other servers (Misskey, GoToSocial's previews).
- GoToSocial (``internal/ap/extract.go`` ``ExtractAttachment``): ``url``, ``mediaType``, the
  description from ``summary`` then ``name``, and ``toot:blurhash``.

So the terms ``blurhash`` and ``focalPoint`` must be in the context we send (``jsonld.EXTRA_TERMS``
defines them as Mastodon does). Incoming attachments are read leniently: one that is not http(s),
has no ``url`` or has a malformed field is skipped (or the field dropped), never a reason to refuse
the object carrying it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cityfed.activitypub.vocab.common import as_list, first_of, has_type, text_of

IMAGE = "Image"
DOCUMENT = "Document"
# Mastodon's check of a blurhash's alphabet (base 83), before it decodes one.
_BLURHASH = re.compile(r"^[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}$")
MAX_NAME = 1500  # Mastodon's MAX_DESCRIPTION_LENGTH


def _http_url(value: Any) -> str | None:
    """A URL from ``url`` as Mastodon reads it: a string, a Link's ``href``, or the first of a
    list of either (servers send several renditions as Links)."""
    for item in as_list(value):
        href = item.get("href") if isinstance(item, Mapping) else item
        if isinstance(href, str) and href.lower().startswith(("https://", "http://")):
            return href
    return None


def _dimension(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if 0 < number <= 100_000 else None


def _focal(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2:
        return None
    x, y = value
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y)):
        return None
    if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
        return None
    return float(x), float(y)


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """An ``Image`` or ``Document`` attached to an object. ``name`` is the alt text of an image
    (required for ours) or the title of a document."""

    kind: str  # IMAGE | DOCUMENT
    url: str
    media_type: str
    name: str | None = None
    width: int | None = None
    height: int | None = None
    blurhash: str | None = None
    focal_point: tuple[float, float] | None = None

    @property
    def is_image(self) -> bool:
        return self.kind == IMAGE

    def to_ap(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": self.kind, "mediaType": self.media_type, "url": self.url}
        if self.name:
            doc["name"] = self.name
        if self.kind == IMAGE:
            if self.width and self.height:
                doc["width"], doc["height"] = self.width, self.height
            if self.blurhash:
                doc["blurhash"] = self.blurhash
            if self.focal_point is not None:
                doc["focalPoint"] = [
                    round(self.focal_point[0], 3),
                    round(self.focal_point[1], 3),
                ]
        return doc

    @classmethod
    def from_ap(cls, value: Any) -> Attachment | None:
        """One attachment from a plain (default-context) document; None when unusable."""
        if not isinstance(value, Mapping):
            return None
        if has_type(value, IMAGE):
            kind = IMAGE
        elif has_type(value, DOCUMENT):
            kind = DOCUMENT
        else:
            return None  # PropertyValue, Link, Video, Audio...: not what we show
        url = _http_url(value.get("url"))
        if url is None:
            return None
        media_type = text_of(value.get("mediaType"))
        if not media_type or "/" not in media_type or len(media_type) > 255:
            media_type = "application/octet-stream"
        # Images that servers send as ``Document`` with an image type (Mastodon does) are images.
        if kind == DOCUMENT and media_type.startswith("image/"):
            kind = IMAGE
        name = text_of(value.get("name")) or text_of(value.get("summary"))
        blurhash = first_of(value.get("blurhash"))
        return cls(
            kind=kind,
            url=url,
            media_type=media_type.split(";", 1)[0].strip().lower(),
            name=name.strip()[:MAX_NAME] if name and name.strip() else None,
            width=_dimension(first_of(value.get("width"))),
            height=_dimension(first_of(value.get("height"))),
            blurhash=blurhash if isinstance(blurhash, str) and _BLURHASH.match(blurhash) else None,
            focal_point=_focal(value.get("focalPoint")),
        )


def read_attachments(value: Any) -> list[Attachment]:
    """Every usable attachment of an ``attachment`` value, in order."""
    found = (Attachment.from_ap(item) for item in as_list(value))
    return [item for item in found if item is not None]
