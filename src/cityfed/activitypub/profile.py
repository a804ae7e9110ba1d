"""A city's profile as the fediverse sees it (issue 16): bio, profile fields, avatar and header.

Pure: plain values in, plain HTML and JSON out. What we send follows Mastodon
(``app/serializers/activitypub/actor_serializer.rb``):

- ``summary``: the bio as HTML. Staff write Markdown; it is rendered with raw HTML disabled
  (markdown-it-py) and then cleaned with nh3 to the tag set Mastodon keeps (``sanitize.py``), so
  what we send is exactly what a Mastodon server would keep of it.
- ``attachment``: one ``PropertyValue`` (schema.org) per field, ``name`` plain text and ``value``
  HTML. A value that is a link is sent as Mastodon formats one (``TextFormatter`` with
  ``with_rel_me``): ``<a href rel="me nofollow noopener noreferrer" target="_blank">`` with the
  scheme in an invisible span. ``verified_at`` is never sent: Mastodon does not federate it, every
  server verifies the links of the profiles it shows itself (``VerifyAccountLinksWorker``).
- ``icon`` / ``image``: ``{"type": "Image", "mediaType", "url"}`` (Mastodon's ImageSerializer).

Limits follow Mastodon's local ones (``Account::Field::MAX_CHARACTERS_LOCAL`` = 255 for a field's
name and value), except that a city may have 8 fields (Mastodon's default is 4; it reads more
from remote actors, as do GoToSocial and Misskey).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from cityfed.activitypub.sanitize import sanitize_html
from cityfed.schemas.profile import (
    MAX_BIO_CHARS,
    MAX_FIELD_CHARS,
    MAX_FIELDS,
    MAX_NAME_CHARS,
)

# Mastodon's VerifyLinkService only follows https links; a node served over http (tests, a
# local demo) may verify http links too.
VERIFIABLE_SCHEMES = ("https",)


class ProfileError(ValueError):
    """A profile value that cannot be accepted; ``field`` names what was wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageRef:
    """An avatar or header as the actor document carries it."""

    url: str
    media_type: str

    def to_ap(self) -> dict[str, Any]:
        return {"type": "Image", "mediaType": self.media_type, "url": self.url}


@dataclass(frozen=True, slots=True)
class Field:
    """One profile field: ``value`` is the plain text staff entered."""

    name: str
    value: str

    def to_ap(self) -> dict[str, str]:
        return {"type": "PropertyValue", "name": self.name, "value": field_value_html(self.value)}


@functools.cache
def _markdown() -> MarkdownIt:
    # Raw HTML off: '<script>' in a bio is text. Links are validated by markdown-it (no
    # javascript:), then nh3 keeps only Mastodon's tags and schemes.
    md = MarkdownIt("commonmark", {"html": False, "breaks": True})
    md.enable("strikethrough")
    # A bio loads no third-party picture: an image becomes a link labelled with its alt text,
    # as in our other Markdown (web/markdown.py).
    md.add_render_rule("image", _image_as_link)
    return md


def _image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    return f'<a href="{escape(str(token.attrGet("src") or ""))}">{escape(alt)}</a>'


def render_bio(markdown: str | None) -> str:
    """A bio written in Markdown as the HTML we send and show ("" for none)."""
    if not markdown or not markdown.strip():
        return ""
    return sanitize_html(_markdown().render(markdown)).strip()


def check_display_name(name: str) -> str:
    text = " ".join(name.split())
    if not text:
        raise ProfileError("display_name", "must not be empty")
    if len(text) > MAX_NAME_CHARS:
        raise ProfileError("display_name", f"at most {MAX_NAME_CHARS} characters")
    return text


def check_bio(markdown: str) -> str:
    text = markdown.replace("\r\n", "\n").strip()
    if len(text) > MAX_BIO_CHARS:
        raise ProfileError("bio", f"at most {MAX_BIO_CHARS} characters")
    return text


def check_fields(pairs: list[tuple[str, str]]) -> list[Field]:
    """Validate a whole list of fields (name, value), in order."""
    if len(pairs) > MAX_FIELDS:
        raise ProfileError("fields", f"at most {MAX_FIELDS} fields")
    checked = []
    for index, (raw_name, raw_value) in enumerate(pairs, start=1):
        name, value = " ".join(raw_name.split()), raw_value.strip()
        if not name or not value:
            raise ProfileError("fields", f"field {index}: both a name and a value are needed")
        if len(name) > MAX_FIELD_CHARS or len(value) > MAX_FIELD_CHARS:
            raise ProfileError(
                "fields", f"field {index}: name and value are at most {MAX_FIELD_CHARS} characters"
            )
        if "\n" in value:
            raise ProfileError("fields", f"field {index}: the value is one line")
        checked.append(Field(name, value))
    return checked


def parse_field(spec: str) -> tuple[str, str]:
    """``"Name=value"`` (the CLI's and the staff form's way of writing a field)."""
    name, sep, value = spec.partition("=")
    if not sep:
        raise ProfileError("fields", f"{spec!r}: write a field as Name=value")
    return name, value


def link_of(value: str) -> str | None:
    """The URL a field's value is, if it is exactly one http(s) URL with a host."""
    if any(ch.isspace() for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password:
        return None
    return value


def verifiable(value: str, *, allow_http: bool = False) -> str | None:
    """The URL to verify for a field (as Mastodon's ``Account::Field#verifiable?``), or None."""
    url = link_of(value)
    if url is None:
        return None
    schemes = (*VERIFIABLE_SCHEMES, "http") if allow_http else VERIFIABLE_SCHEMES
    return url if urlsplit(url).scheme in schemes else None


_SCHEME = re.compile(r"^(https?://)(www\.)?")


def field_value_html(value: str) -> str:
    """A field's value as the HTML we send: a link as Mastodon formats one, otherwise text."""
    url = link_of(value)
    if url is None:
        return escape(value, quote=False)
    match = _SCHEME.match(url)
    prefix = match.group(0) if match else ""
    shown = url[len(prefix) :]
    return (
        f'<a href="{escape(url, quote=True)}" target="_blank" '
        f'rel="nofollow noopener noreferrer me" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>'
        f'<span class="">{escape(shown)}</span><span class="invisible"></span></a>'
    )


def image_url(value: Any) -> str | None:
    """The URL of an ``icon``/``image`` value: an Image (url a string or a Link), or a string;
    the first of a list."""
    item = value[0] if isinstance(value, list) and value else value
    if isinstance(item, dict):
        item = item.get("url")
        if isinstance(item, list) and item:
            item = item[0]
        if isinstance(item, dict):
            item = item.get("href")
    if isinstance(item, str) and urlsplit(item).scheme in ("http", "https"):
        return item
    return None
