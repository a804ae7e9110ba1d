"""What the HTML templates and feeds show: plain view models built from rows, no I/O.

Keeping the shaping here (titles, dates, links, SDG names, language names, paging) leaves the
handlers thin and the templates free of logic that would need testing through HTML.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from markupsafe import Markup

from cityfed.actions.project_fields import CityObject
from cityfed.actions.projects import kind_of, load
from cityfed.activitypub import collections as coll
from cityfed.activitypub.sanitize import sanitize_html
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.activitypub.vocab.common import id_of, language_map, text_of
from cityfed.activitypub.vocab.cooperation import Adoption, SolutionOffer
from cityfed.models.tables import Actor, Object
from cityfed.web.filters import SDG_NAMES, language_name, sdg_url, web_url
from cityfed.web.markdown import render_markdown

PAGE_SIZE = coll.PAGE_SIZE
_SPDX_ID = re.compile(r"[A-Za-z0-9.+-]+")
_EMAIL = re.compile(r"[^@\s<>\"':/]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
KIND_LABELS = {"project": "Project", "challenge": "Challenge"}


def profile_url(actor: Actor) -> str:
    return actor.url or actor.ap_id


@dataclass(frozen=True)
class City:
    """An actor as a page names it: a name, the fediverse account, a link to its profile."""

    name: str
    account: str
    url: str | None


def city(actor: Actor) -> City:
    # A remote actor's ``url`` is the peer's word: only an http(s) link becomes an href.
    return City(
        name=actor.name or actor.handle,
        account=f"@{actor.handle}@{actor.domain}",
        url=web_url(profile_url(actor)),
    )


# --- paging -------------------------------------------------------------------------------------


class BadPage(ValueError):
    pass


def page_number(raw: str | None) -> int:
    """``?page=`` → 1-based page number (1 when absent); BadPage when malformed."""
    try:
        return coll.parse_page_number(raw) or 1
    except ValueError:
        raise BadPage(raw) from None


@dataclass(frozen=True)
class Pager:
    number: int
    total: int
    path: str
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def beyond_end(self) -> bool:
        return self.number > self.pages

    def url(self, number: int) -> str:
        return self.path if number == 1 else f"{self.path}?{urlencode({'page': number})}"

    @property
    def prev_url(self) -> str | None:
        return self.url(self.number - 1) if self.number > 1 else None

    @property
    def next_url(self) -> str | None:
        return self.url(self.number + 1) if self.number < self.pages else None


# --- list entries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    """One project or challenge in a list."""

    kind: str
    url: str
    title: str
    teaser: str
    phase: str
    lang: str
    published: datetime | None
    tags: list[str]
    featured: bool = False
    author: str | None = None
    author_url: str | None = None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def card(row: Object, author: Actor | None = None) -> Card:
    item = load(row)
    return Card(
        kind=kind_of(row),
        url=item.url or item.id,
        title=item.name,
        teaser=item.teaser,
        phase=item.phase,
        lang=item.language,
        published=item.published or row.published,
        tags=list(item.tags),
        featured=row.featured,
        author=(author.name or author.handle) if author else None,
        author_url=profile_url(author) if author else None,
    )


def cards(rows: Iterable[Object], authors: Mapping[int, Actor] | None = None) -> list[Card]:
    return [card(row, (authors or {}).get(row.actor_id)) for row in rows]


# --- the object page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Translation:
    lang: str
    language: str
    title: str
    teaser: str
    description: Markup


@dataclass(frozen=True)
class Reference:
    """A link to another object, with its title (and owner) when this node knows it."""

    url: str | None
    label: str
    owner: City | None = None


@dataclass(frozen=True)
class ObjectView:
    item: CityObject
    kind: str
    author_name: str
    author_url: str | None
    description: Markup
    outcomes: Markup
    lessons_learned: Markup
    requirements: Markup
    translations: list[Translation]
    sdgs: list[tuple[int, str, str]]
    based_on: Reference | None = None
    addresses: list[Reference] = field(default_factory=list)
    resolved_by: list[Reference] = field(default_factory=list)
    featured: bool = False

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def contact_href(self) -> str | None:
        """A mailto: link when the contact is just an e-mail address."""
        contact = getattr(self.item, "contact", None) or ""
        return f"mailto:{contact}" if _EMAIL.fullmatch(contact) else None

    @property
    def license_url(self) -> str | None:
        """The SPDX page of a single license id; an expression ("MIT OR Apache-2.0") has none."""
        license_id = getattr(self.item, "license", None) or ""
        return (
            f"https://spdx.org/licenses/{license_id}.html"
            if _SPDX_ID.fullmatch(license_id)
            else None
        )

    @property
    def osm_url(self) -> str | None:
        place = self.item.location
        if place is None or place.latitude is None or place.longitude is None:
            return None
        lat, lon = place.latitude, place.longitude
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=16/{lat}/{lon}"


def referenced_ids(item: CityObject) -> list[str]:
    ids: list[str] = []
    if isinstance(item, Project):
        ids += [item.is_based_on] if item.is_based_on else []
        ids += item.addresses
    elif isinstance(item, Challenge):
        ids += item.resolved_by
    return ids


def _reference(
    ap_id: str,
    titles: Mapping[str, str],
    owners: Mapping[str, Actor] | None = None,
    *,
    fallback: str | None = None,
) -> Reference:
    owner = (owners or {}).get(ap_id)
    return Reference(
        url=web_url(ap_id),
        label=titles.get(ap_id) or fallback or ap_id,
        owner=city(owner) if owner is not None else None,
    )


def _translations(item: CityObject) -> list[Translation]:
    langs = sorted({*item.name_map, *item.teaser_map, *item.description_map})
    return [
        Translation(
            lang=lang,
            language=language_name(lang),
            title=item.name_map.get(lang, ""),
            teaser=item.teaser_map.get(lang, ""),
            # One level deeper than the main description: it sits under the language's <h3>.
            description=Markup(render_markdown(item.description_map.get(lang), heading_offset=3)),
        )
        for lang in langs
    ]


def object_view(
    row: Object,
    item: CityObject,
    author: Actor | None,
    titles: Mapping[str, str] | None = None,
    owners: Mapping[str, Actor] | None = None,
) -> ObjectView:
    """The page of ``row`` (whose vocabulary object is ``item``); ``titles`` and ``owners`` name
    the objects it links to and their cities, where known."""
    titles = titles or {}
    outcomes = lessons = requirements = ""
    based_on: Reference | None = None
    addresses: list[Reference] = []
    resolved_by: list[Reference] = []
    if isinstance(item, Project):
        outcomes = render_markdown(item.outcomes)
        lessons = render_markdown(item.lessons_learned)
        based_on = _reference(item.is_based_on, titles, owners) if item.is_based_on else None
        addresses = [_reference(ap_id, titles, owners) for ap_id in item.addresses]
    elif isinstance(item, Challenge):
        requirements = render_markdown(item.requirements)
        resolved_by = [_reference(ap_id, titles, owners) for ap_id in item.resolved_by]
    return ObjectView(
        item=item,
        kind=kind_of(row),
        author_name=(author.name or author.handle) if author else item.attributed_to,
        author_url=profile_url(author) if author else web_url(item.attributed_to),
        description=Markup(render_markdown(item.description)),
        outcomes=Markup(outcomes),
        lessons_learned=Markup(lessons),
        requirements=Markup(requirements),
        translations=_translations(item),
        sdgs=[(goal, SDG_NAMES[goal], sdg_url(goal)) for goal in item.sdgs],
        based_on=based_on,
        addresses=addresses,
        resolved_by=resolved_by,
        featured=row.featured,
    )


# --- what partners did with it: discussion, adoptions, solutions --------------------------------

# Replies nest as lists up to this depth; deeper ones continue flat at this depth (each saying
# whom it answers), so a long back-and-forth does not squeeze the text into a sliver.
MAX_DEPTH = 5
# Headings in a comment would break the page's outline (one <h1>, sections under <h2>): they
# become bold paragraphs. Applied to the stored HTML *before* it is sanitised again, so what
# reaches the page is always the sanitiser's own output.
_HEADING_OPEN = re.compile(r"<h[1-6](?=[\s/>])[^>]*>", re.IGNORECASE)
_HEADING_CLOSE = re.compile(r"</h[1-6]\s*>", re.IGNORECASE)


def comment_html(stored: str) -> Markup:
    """A comment's HTML, safe to embed: the stored HTML was sanitised on receipt (or written by
    us), and is sanitised again here with the same Mastodon allow-list, because a page must
    not depend on every path into the database having done it (older rows, imports, bugs)."""
    flattened = _HEADING_CLOSE.sub("</strong></p>", _HEADING_OPEN.sub("<p><strong>", stored))
    return Markup(sanitize_html(flattened))


def comment_language(document: Mapping[str, object]) -> str | None:
    """The language of a comment's ``content``: the key of its ``contentMap`` (Mastodon sends
    ``{"en": content}``); None when there is none, or several and none matches ``content``."""
    texts = language_map(document.get("contentMap"))
    texts.pop("und", None)  # "undetermined" says nothing
    if len(texts) == 1:
        return next(iter(texts))
    content = document.get("content")
    return next((lang for lang, text in texts.items() if text == content), None)


def _anchor(ap_id: str) -> str:
    # Derived from the id, so a link to one comment stays valid when others are hidden later.
    return "comment-" + hashlib.sha256(ap_id.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ReplyTo:
    """Whom a comment answers, when the nesting no longer shows it."""

    anchor: str
    author: str


@dataclass
class CommentView:
    anchor: str
    author: City
    url: str | None
    published: datetime
    updated: datetime | None
    html: Markup
    lang: str | None
    reply_to: ReplyTo | None = None
    children: list[CommentView] = field(default_factory=list)


@dataclass(frozen=True)
class Discussion:
    comments: list[CommentView]
    count: int  # how many are shown, nested or not
    truncated: bool = False  # more exist than a page shows


def _comment(row: Object, author: Actor) -> CommentView:
    doc = row.document
    content = text_of(doc.get("content"))
    if content is None:  # a Note with only a contentMap
        content = next(iter(language_map(doc.get("contentMap")).values()), "")
    return CommentView(
        anchor=_anchor(row.ap_id),
        author=city(author),
        url=web_url(id_of(doc.get("url")) or row.ap_id),
        published=row.published,
        updated=row.updated,
        html=comment_html(content),
        lang=comment_language(doc),
    )


def discussion(
    root: str, rows: Sequence[tuple[Object, Actor]], *, limit: int | None = None
) -> Discussion:
    """The thread of ``root`` as nested lists: each comment under the one it answers, siblings
    oldest first. ``rows`` come oldest first; with ``limit``, one more row than that means the
    thread goes on beyond what is shown. A comment whose parent is not shown (held, removed,
    deleted, blocked) stands at the top level rather than disappearing with it."""
    truncated = limit is not None and len(rows) > limit
    shown = rows[:limit] if limit is not None else rows
    views = {row.ap_id: _comment(row, author) for row, author in shown}
    parent_of: dict[str, str] = {}
    replies: dict[str, list[str]] = {}
    for row, _author in shown:
        parent = row.in_reply_to
        if parent and parent != root and parent != row.ap_id and parent in views:
            parent_of[row.ap_id] = parent
            replies.setdefault(parent, []).append(row.ap_id)
    placed: set[str] = set()

    def rest_of_conversation(ap_id: str) -> list[str]:
        """Every reply below ``ap_id``, in time order (``views`` is oldest first)."""
        below: set[str] = set()
        stack = list(replies.get(ap_id, []))
        while stack:
            child = stack.pop()
            if child not in below and child not in placed:  # forged data could make a loop
                below.add(child)
                stack.extend(replies.get(child, []))
        return [other for other in views if other in below]

    def place(ap_id: str, depth: int, siblings: list[CommentView]) -> None:
        placed.add(ap_id)
        view = views[ap_id]
        siblings.append(view)
        if depth < MAX_DEPTH:
            for child in replies.get(ap_id, []):
                if child not in placed:
                    place(child, depth + 1, view.children)
            return
        # At the deepest level the conversation goes on flat, each reply naming whom it answers.
        for later in rest_of_conversation(ap_id):
            placed.add(later)
            parent = views[parent_of[later]]
            views[later].reply_to = ReplyTo(parent.anchor, parent.author.name)
            siblings.append(views[later])

    top_level: list[CommentView] = []
    for ap_id in views:
        # Top-level comments first; anything still unplaced afterwards hangs off a loop with no
        # way in (forged data), and is shown at the top level rather than lost.
        if ap_id not in parent_of:
            place(ap_id, 1, top_level)
    for ap_id in views:
        if ap_id not in placed:
            place(ap_id, 1, top_level)
    return Discussion(top_level, len(views), truncated)


@dataclass(frozen=True)
class AdoptionView:
    """One city's adoption of a project: how far it got and what it learned."""

    adopter: City
    status: str
    project: Reference  # the adopter's own project (which is based on the adopted one)
    outcomes: Markup
    lessons_learned: Markup
    published: datetime
    updated: datetime | None

    @property
    def last_updated(self) -> datetime:
        return self.updated or self.published


def adoption_view(
    row: Object, adopter: Actor, titles: Mapping[str, str] | None = None
) -> AdoptionView | None:
    """None for a stored document that no longer reads as an Adoption (then it is not shown)."""
    try:
        adoption = Adoption.from_plain(row.document)
    except ValueError:
        return None
    who = city(adopter)
    project = _reference(adoption.local_project, titles or {}, fallback=f"{who.name}'s project")
    return AdoptionView(
        adopter=who,
        status=adoption.status,
        project=Reference(project.url, project.label, who),
        # Under the adoption's <h4> labels: a "#" heading in the text becomes an <h5>.
        outcomes=Markup(render_markdown(adoption.outcomes, heading_offset=4)),
        lessons_learned=Markup(render_markdown(adoption.lessons_learned, heading_offset=4)),
        published=row.published,
        updated=row.updated,
    )


def adoption_views(
    rows: Iterable[tuple[Object, Actor]], titles: Mapping[str, str] | None = None
) -> list[AdoptionView]:
    views = (adoption_view(row, adopter, titles) for row, adopter in rows)
    return [view for view in views if view is not None]


@dataclass(frozen=True)
class SolutionView:
    """A project accepted as a solution of a challenge, or one the challenge was resolved by."""

    project: Reference
    rationale: Markup
    offered: datetime | None = None
    resolves: bool = False  # in the challenge's cf:resolvedBy


def solution_views(
    item: CityObject,
    offers: Iterable[tuple[Object, Actor]],
    titles: Mapping[str, str] | None = None,
    owners: Mapping[str, Actor] | None = None,
) -> list[SolutionView]:
    """The accepted offers for challenge ``item`` (oldest first), then any project it names as
    resolved by that came without an offer (set by its owner directly)."""
    titles = titles or {}
    resolved = list(item.resolved_by) if isinstance(item, Challenge) else []
    views: list[SolutionView] = []
    seen: set[str] = set()
    for row, offerer in offers:
        try:
            offer = SolutionOffer.from_plain(row.document)
        except ValueError:
            continue
        if offer.solution in seen:
            continue
        seen.add(offer.solution)
        who = city(offerer)
        project = _reference(offer.solution, titles, fallback=f"A project of {who.name}")
        views.append(
            SolutionView(
                project=Reference(project.url, project.label, who),
                rationale=comment_html(offer.content),
                offered=row.published,
                resolves=offer.solution in resolved,
            )
        )
    for ap_id in resolved:
        if ap_id not in seen:
            seen.add(ap_id)
            views.append(SolutionView(_reference(ap_id, titles, owners), Markup(""), resolves=True))
    return views


def solution_for(
    offers: Iterable[Object],
    titles: Mapping[str, str] | None = None,
    owners: Mapping[str, Actor] | None = None,
) -> list[Reference]:
    """The challenges a project was accepted for (from our accepted offers of it)."""
    refs: list[Reference] = []
    for row in offers:
        challenge = id_of(row.document.get("cf:challenge")) or row.target
        if challenge and all(ref.url != web_url(challenge) for ref in refs):
            refs.append(_reference(challenge, titles or {}, owners))
    return refs


@dataclass(frozen=True)
class Cooperation:
    """The part of an object's page about partners: its discussion, who adopted it (or how our
    adoption it is based on goes), and its solutions (or the challenges it solves)."""

    discussion: Discussion
    adopted_by: list[AdoptionView] = field(default_factory=list)
    adoption: AdoptionView | None = None
    solutions: list[SolutionView] = field(default_factory=list)
    solution_for: list[Reference] = field(default_factory=list)


# --- a city's links -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CityLinks:
    """Where a city's lists, feed and open data live (all under its actor id)."""

    base: str

    @classmethod
    def of(cls, actor: Actor) -> CityLinks:
        return cls(actor.ap_id)

    @property
    def projects(self) -> str:
        return f"{self.base}/projects"

    @property
    def challenges(self) -> str:
        return f"{self.base}/challenges"

    @property
    def feed(self) -> str:
        return f"{self.base}/feed.atom"

    @property
    def jsonld(self) -> str:
        return f"{self.base}/projects.jsonld"

    @property
    def csv(self) -> str:
        return f"{self.base}/projects.csv"
