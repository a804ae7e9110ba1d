"""CityObject (§4): the base shared by Project and Challenge, and how it maps to ActivityPub.

Objects are ``Note``-first multi-typed (``["Note", "cf:Project"]``) so Mastodon shows them:
``content`` is a short HTML card a Mastodon user can read, and the full structure travels in
``cf:`` properties that partner cities read. ``summary`` is never written, because Mastodon would
show it as a content warning.

The title travels as ``cf:title`` (``titleMap`` for other languages), never as ``name``: GoToSocial
shows a Note's ``name`` as a content warning. ``from_ap`` still reads ``name``/``nameMap`` from
nodes that sent them.

``to_ap`` writes plain JSON in our default context; ``from_ap`` reads our own output as plain
JSON (no pyld) and any other valid JSON-LD spelling of the same object through pyld compaction.
Unknown properties are kept in ``extra`` and written back by ``to_ap``.

Multilingual text: ``name`` (the title), ``teaser`` and ``description`` are in ``language``;
``name_map``, ``teaser_map`` and ``description_map`` hold *other* languages only. Language tags
are stored in canonical BCP 47 case ("pt-BR").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any, ClassVar, Self

from cityfed.activitypub.jsonld import PUBLIC, default_context
from cityfed.activitypub.vocab.common import (
    Hashtag,
    Place,
    SdgTag,
    TagUrl,
    as_list,
    canonical_language,
    first_of,
    format_datetime,
    has_type,
    id_of,
    is_valid_hashtag,
    language_map,
    parse_datetime,
    read_as_default,
    require_aware,
    tag_url_function,
    text_of,
    types_of,
    validate_sdg,
)
from cityfed.activitypub.vocab.media import Attachment, read_attachments

MARKDOWN = "text/markdown"

# Keys written from fields (or deliberately dropped) rather than carried in ``extra``.
_BASE_KEYS = frozenset(
    {
        "@context",
        "id",
        "@id",
        "type",
        "@type",
        "attributedTo",
        "name",
        "nameMap",
        "cf:title",
        "titleMap",
        "content",
        "contentMap",
        "source",
        "url",
        "published",
        "updated",
        "to",
        "cc",
        "bto",
        "bcc",
        "tag",
        "location",
        "startTime",
        "endTime",
        "replies",
        "summary",
        "summaryMap",
        "cf:teaser",
        "teaserMap",
        "cf:phase",
        "attachment",
    }
)
# Never re-published from ``extra``: a content warning we do not want, and blind recipients.
_NEVER_EMIT = frozenset({"@context", "summary", "summaryMap", "bto", "bcc"})


def _check_map(value: Mapping[str, str], field_name: str, primary: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for tag, text in value.items():
        try:
            tag = canonical_language(tag)
        except ValueError as exc:
            raise ValueError(f"{field_name}: {exc}") from None
        if not isinstance(text, str):
            raise ValueError(f"{field_name}: value for {tag!r} must be a string")
        if tag == primary:
            raise ValueError(
                f"{field_name}: holds other languages only; {tag!r} is the primary language"
            )
        result[tag] = text
    return result


def _other_languages(value: dict[str, str], primary: str) -> dict[str, str]:
    return {tag: text for tag, text in value.items() if tag != primary}


def title_of(doc: Any) -> str | None:
    """The title of a project's or challenge's document: ``cf:title``, or ``name`` as nodes before
    that term sent it (GoToSocial shows a Note's ``name`` as a content warning, so we never do)."""
    if not isinstance(doc, Mapping):
        return None
    return text_of(doc.get("cf:title")) or text_of(doc.get("name")) or None


@dataclass(kw_only=True)
class CityObject:
    """Fields and behaviour shared by Project and Challenge."""

    PHASES: ClassVar[tuple[str, ...]] = ()
    CF_TYPE: ClassVar[str] = ""
    # Extra keys a subclass reads itself; everything else unknown goes to ``extra``.
    OWN_KEYS: ClassVar[frozenset[str]] = frozenset()

    id: str
    attributed_to: str
    name: str = ""
    url: str | None = None
    teaser: str = ""
    description: str = ""  # Markdown source
    language: str = "en"
    name_map: dict[str, str] = field(default_factory=dict)
    teaser_map: dict[str, str] = field(default_factory=dict)
    description_map: dict[str, str] = field(default_factory=dict)
    phase: str = ""
    tags: list[str] = field(default_factory=list)
    sdgs: list[int] = field(default_factory=list)
    location: Place | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    published: datetime | None = None
    updated: datetime | None = None
    replies: str | None = None
    # Cover image first, then the gallery, then documents (Mastodon shows them in this order).
    attachments: list[Attachment] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("id", "attributed_to"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name}: required")
        if self.phase not in self.PHASES:
            raise ValueError(f"phase: {self.phase!r} is not one of {', '.join(self.PHASES)}")
        try:
            self.language = canonical_language(self.language)
        except ValueError as exc:
            raise ValueError(f"language: {exc}") from None
        self.name_map = _check_map(self.name_map, "name_map", self.language)
        self.teaser_map = _check_map(self.teaser_map, "teaser_map", self.language)
        self.description_map = _check_map(self.description_map, "description_map", self.language)
        for tag in self.tags:
            if not is_valid_hashtag(tag):
                raise ValueError(f"tags: {tag!r} is not a hashtag (word characters, no '#')")
        for goal in self.sdgs:
            validate_sdg(goal)
        if self.location is not None and not isinstance(self.location, Place):
            raise ValueError("location: expected a Place")
        for name in self._datetime_fields():
            setattr(self, name, require_aware(getattr(self, name), name))

    def _datetime_fields(self) -> tuple[str, ...]:
        return ("start_time", "end_time", "published", "updated")

    # --- writing --------------------------------------------------------------------------------

    def to_ap(self, *, tag_url: TagUrl = None, followers: str | None = None) -> dict[str, Any]:
        """The ActivityPub object.

        ``tag_url`` turns a hashtag into its page on our host: a callable, a base URL string, or
        None for ``{origin of id}/tags/{tag}``. ``followers`` (the owner's followers collection)
        is put in ``cc``; the object is always addressed ``to`` Public.
        """
        link_for = tag_url_function(tag_url, self.id)
        doc: dict[str, Any] = {
            "@context": default_context(),
            "id": self.id,
            "type": ["Note", self.CF_TYPE],
            "attributedTo": self.attributed_to,
            # No ``name``: GoToSocial would show it as a content warning over the card.
            "cf:title": self.name,
        }
        if self.name_map:
            doc["titleMap"] = {self.language: self.name, **self.name_map}
        content = self._card(self.language, link_for)
        doc["content"] = content
        # contentMap always: Mastodon takes the post's language from its first key.
        content_map = {self.language: content}
        for lang in (*self.name_map, *self.teaser_map):
            card = self._card(lang, link_for)
            # A card identical to the primary one adds nothing, and skipping it keeps the
            # primary language the only key whose card equals ``content`` (how we read it back).
            if lang not in content_map and card != content:
                content_map[lang] = card
        doc["contentMap"] = content_map
        if self.description or self.description_map:
            source: dict[str, Any] = {"content": self.description}
            if self.description_map:
                source["contentMap"] = {self.language: self.description, **self.description_map}
            source["mediaType"] = MARKDOWN
            doc["source"] = source
        if self.url:
            doc["url"] = self.url
        if self.published:
            doc["published"] = format_datetime(self.published)
        if self.updated:
            doc["updated"] = format_datetime(self.updated)
        doc["to"] = [PUBLIC]
        if followers:
            doc["cc"] = [followers]
        tags = [Hashtag(t, link_for(t)).to_ap() for t in self.tags]
        tags += [SdgTag(goal).to_ap() for goal in self.sdgs]
        tags += as_list(self.extra.get("tag"))  # tags of kinds we do not model
        if tags:
            doc["tag"] = tags
        if self.location is not None:
            doc["location"] = self.location.to_ap()
        if self.attachments:
            doc["attachment"] = [item.to_ap() for item in self.attachments]
        if self.start_time:
            doc["startTime"] = format_datetime(self.start_time)
        if self.end_time:
            doc["endTime"] = format_datetime(self.end_time)
        if self.replies:
            doc["replies"] = self.replies
        if self.teaser:
            doc["cf:teaser"] = self.teaser
        if self.teaser_map:
            doc["teaserMap"] = {self.language: self.teaser, **self.teaser_map}
        doc["cf:phase"] = self.phase
        self._write_own(doc)
        for key, value in self.extra.items():
            if key not in doc and key not in _NEVER_EMIT and key != "tag":
                doc[key] = value
        return doc

    def _write_own(self, doc: dict[str, Any]) -> None:
        """Subclass hook: add the cf: properties specific to the type."""

    def _card_lines(self) -> list[str]:
        """Subclass hook: extra escaped HTML lines for the card, after the phase."""
        return []

    def _card(self, lang: str, link_for: Any) -> str:
        """The Mastodon-readable card in ``lang``: only markup Mastodon keeps (p, strong, a)."""
        primary = lang == self.language
        name = self.name if primary else self.name_map.get(lang, self.name)
        teaser = self.teaser if primary else self.teaser_map.get(lang, self.teaser)
        parts = [f"<p><strong>{escape(name)}</strong></p>"]
        if teaser:
            parts.append(f"<p>{escape(teaser)}</p>")
        parts.append(f"<p>Phase: {escape(self.phase)}</p>")
        parts.extend(self._card_lines())
        if self.tags:
            links = " ".join(
                f'<a href="{escape(link_for(tag), quote=True)}" class="mention hashtag" '
                f'rel="tag">#<span>{escape(tag)}</span></a>'
                for tag in self.tags
            )
            parts.append(f"<p>{links}</p>")
        target = self.url or self.id
        parts.append(f'<p><a href="{escape(target, quote=True)}">{escape(target)}</a></p>')
        return "".join(parts)

    # --- reading --------------------------------------------------------------------------------

    @classmethod
    def from_ap(cls, doc: Mapping[str, Any] | list[Any], *, context: Any = None) -> Self:
        """Read an object of this type from any valid JSON-LD shape; ValueError when invalid.

        ``context`` is the ``@context`` in force when ``doc`` is embedded without its own.
        """
        return cls.from_plain(read_as_default(doc, context=context))

    @classmethod
    def from_plain(cls, doc: Mapping[str, Any]) -> Self:
        """Read a document already in our default context's shape (see ``read_as_default``)."""
        if not has_type(doc, cls.CF_TYPE):
            raise ValueError(f"type: {types_of(doc)!r} does not include {cls.CF_TYPE}")
        obj_id = id_of(doc.get("id", doc.get("@id")))
        if obj_id is None:
            raise ValueError("id: missing")
        attributed_to = id_of(doc.get("attributedTo"))
        if attributed_to is None:
            raise ValueError("attributedTo: missing")

        content_map = language_map(doc.get("contentMap"))
        content = text_of(doc.get("content"))
        language = next((lang for lang, text in content_map.items() if text == content), None)
        language = language or next(iter(content_map), "en")

        source = first_of(doc.get("source"))
        source = source if isinstance(source, Mapping) else {}

        tags: list[str] = []
        sdgs: list[int] = []
        other_tags: list[Any] = []
        for item in doc.get("tag", []) if isinstance(doc.get("tag"), list) else [doc.get("tag")]:
            if isinstance(item, Mapping) and has_type(item, "Hashtag"):
                name = Hashtag.from_ap(item).name
                if is_valid_hashtag(name):
                    tags.append(name)
                # else: a tag Mastodon would not link either; dropping it loses nothing useful
            elif isinstance(item, Mapping) and has_type(item, "cf:SDG"):
                sdgs.append(SdgTag.from_ap(item).goal)
            elif item is not None:
                other_tags.append(item)

        extra = {k: v for k, v in doc.items() if k not in _BASE_KEYS and k not in cls.OWN_KEYS}
        location = first_of(doc.get("location"))
        if location is not None and not isinstance(location, Mapping):
            extra["location"] = doc["location"]  # a bare id: keep it rather than invent a Place
            location = None
        if other_tags:
            extra["tag"] = other_tags

        fields: dict[str, Any] = {
            "id": obj_id,
            "attributed_to": attributed_to,
            # ``name``/``nameMap``: what nodes before the cf:title term sent.
            "name": title_of(doc) or "",
            "url": id_of(doc.get("url")),
            "teaser": text_of(doc.get("cf:teaser")) or "",
            "description": text_of(source.get("content")) or "",
            "language": language,
            "name_map": _other_languages(
                language_map(doc.get("titleMap") or doc.get("nameMap")), language
            ),
            "teaser_map": _other_languages(language_map(doc.get("teaserMap")), language),
            "description_map": _other_languages(language_map(source.get("contentMap")), language),
            "phase": text_of(doc.get("cf:phase")) or cls.__dataclass_fields__["phase"].default,
            "tags": tags,
            "sdgs": sdgs,
            "location": Place.from_ap(location) if location is not None else None,
            "start_time": parse_datetime(doc.get("startTime"), "startTime"),
            "end_time": parse_datetime(doc.get("endTime"), "endTime"),
            "published": parse_datetime(doc.get("published"), "published"),
            "updated": parse_datetime(doc.get("updated"), "updated"),
            "replies": id_of(doc.get("replies")),
            "attachments": read_attachments(doc.get("attachment")),
            "extra": extra,
        }
        fields.update(cls._read_own(doc))
        return cls(**fields)

    @classmethod
    def _read_own(cls, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Subclass hook: the type-specific fields from a default-shaped document."""
        return {}
