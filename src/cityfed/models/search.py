"""Full-text search over our own and partners' projects, challenges and comments (issue 18).

One row of ``search_entries`` per searchable object holds what the filters need (author, kind,
phase, tags, SDGs, date, public) and the words of every language of the object. The words are
indexed by the database's own engine:

- SQLite: the FTS5 table ``search_fts`` (tokenizer ``unicode61 remove_diacritics 2``), an
  external-content index over ``search_entries`` kept in step by triggers (migration 0009).
- PostgreSQL: the ``tsv`` column of ``search_entries`` (GIN index): for each language of the
  item its text in that language's text search configuration where PostgreSQL ships one, plus
  all the words in ``simple``; queries go through ``websearch_to_tsquery``.

Diacritics: FTS5 removes them itself; for PostgreSQL the text and the query are folded here
(NFKD, combining marks dropped) so that neither the ``unaccent`` extension nor superuser rights
are needed.

The index is written in the same transaction as the object: a flush listener on every ORM
session (``_index_on_flush``) rewrites the entry of each Object row added, changed or deleted
in that flush. No writer has to remember it; bulk UPDATE statements on ``objects`` would bypass
it (there are none; keep it that way or call ``reindex``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape, unescape
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    event,
    func,
    insert,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from cityfed.activitypub.vocab import Challenge, Project
from cityfed.activitypub.vocab.common import canonical_language, language_map
from cityfed.models.db import dialect_name
from cityfed.models.peers import actor_not_blocked
from cityfed.models.tables import Actor, Object
from cityfed.models.types import UTCDateTime

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
KINDS = {"Project": "project", "Challenge": "challenge", "Note": "comment"}
TYPES = {kind: type_name for type_name, kind in KINDS.items()}

# Languages whose text search configuration ships with every supported PostgreSQL (12+); any
# other language is indexed with 'simple' only (still found, just without stemming).
PG_CONFIGS = {
    "ar": "arabic", "da": "danish", "de": "german", "el": "greek", "en": "english",
    "es": "spanish", "fi": "finnish", "fr": "french", "ga": "irish", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "nl": "dutch", "nb": "norwegian", "no": "norwegian", "nn": "norwegian", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sv": "swedish", "ta": "tamil", "tr": "turkish",
}  # fmt: skip

# Markers around matched words in snippets, chosen so they cannot occur in stored text: the
# snippet is HTML-escaped with them in place, then they become <mark> and </mark>.
_OPEN, _CLOSE = "\x02", "\x03"
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
MAX_QUERY = 200

# A Table, not a mapped class: the row is derived data, and the ORM flush listener below must
# not see its own writes as objects to index.
_meta = MetaData()
entries = Table(
    "search_entries",
    _meta,
    Column("object_id", Integer, primary_key=True),
    Column("actor_id", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("local", Boolean, nullable=False),
    Column("public", Boolean, nullable=False),
    Column("phase", String(32)),
    Column("tags", Text, nullable=False),  # "|heat|opendata|" casefolded, for LIKE '%|x|%'
    Column("sdgs", String(64), nullable=False),  # "|11|13|"
    Column("language", String(35)),
    Column("published", UTCDateTime(), nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    # PostgreSQL only (migration 0009); never named in a statement on SQLite.
    Column("tsv", TSVECTOR),
)
# SQLite only: the FTS5 index over ``search_entries`` (created by migration 0009).
fts = Table(
    "search_fts", _meta, Column("rowid", Integer), Column("title", Text), Column("body", Text)
)


def fold(value: str) -> str:
    """``value`` without diacritics (Hitzé → Hitze), as FTS5's remove_diacritics does."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def plain(html_or_text: str) -> str:
    """Words of a (possibly HTML) text: tags dropped, entities decoded, spaces collapsed."""
    return _SPACE.sub(" ", unescape(_TAG.sub(" ", html_or_text))).strip()


@dataclass
class Entry:
    """What the index holds of one object."""

    object_id: int
    actor_id: int
    kind: str
    local: bool
    public: bool
    phase: str | None
    tags: list[str]
    sdgs: list[int]
    language: str | None
    published: datetime
    # language → (title, body) of that language; "" for text without a language
    texts: dict[str, tuple[str, str]]

    def row(self) -> dict[str, Any]:
        titles = _unique(title for title, _ in self.texts.values())
        bodies = _unique(body for _, body in self.texts.values())
        return {
            "object_id": self.object_id,
            "actor_id": self.actor_id,
            "kind": self.kind,
            "local": self.local,
            "public": self.public,
            "phase": self.phase or None,
            "tags": "|" + "|".join(tag.casefold() for tag in self.tags) + "|",
            "sdgs": "|" + "|".join(str(goal) for goal in self.sdgs) + "|",
            "language": self.language,
            "published": self.published,
            "title": " · ".join(titles),
            "body": " … ".join(bodies),
        }


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))


def _is_public(doc: Mapping[str, Any]) -> bool:
    audience: list[Any] = []
    for key in ("to", "cc"):
        value = doc.get(key)
        audience.extend(value if isinstance(value, list) else [value])
    return any(a in (PUBLIC, "as:Public", "Public") for a in audience)


def _texts(doc: Mapping[str, Any], language: str | None) -> dict[str, tuple[str, str]]:
    """Title and body per language, from the plain maps (``nameMap``, ``cf:titleMap``,
    ``summaryMap``, ``contentMap``) and their single-language forms."""
    primary = language or ""
    titles: dict[str, str] = {}
    bodies: dict[str, list[str]] = {}
    for key in ("cf:title", "name"):
        for lang, value in _mapped(doc, key, primary).items():
            titles.setdefault(lang, plain(value))
    for key in ("cf:teaser", "summary", "content", "cf:description"):
        for lang, value in _mapped(doc, key, primary).items():
            words = plain(value)
            if words and words not in bodies.setdefault(lang, []):
                bodies[lang].append(words)
    languages = list(dict.fromkeys([*titles, *bodies]))
    return {lang: (titles.get(lang, ""), " ".join(bodies.get(lang, []))) for lang in languages}


def _mapped(doc: Mapping[str, Any], key: str, primary: str) -> dict[str, str]:
    found: dict[str, str] = {}
    with suppress(TypeError, ValueError):
        found.update(language_map(doc.get(key + "Map")))
    value = doc.get(key)
    if isinstance(value, str) and value and value not in found.values():
        found.setdefault(primary, value)
    return {lang: text for lang, text in found.items() if isinstance(text, str) and text}


def _language(doc: Mapping[str, Any]) -> str | None:
    for key in ("contentMap", "nameMap", "cf:titleMap"):
        value = doc.get(key)
        if isinstance(value, Mapping) and value:
            try:
                return canonical_language(str(next(iter(value))))
            except ValueError:
                return None
    value = doc.get("cf:language") or doc.get("language")
    if isinstance(value, str):
        try:
            return canonical_language(value)
        except ValueError:
            return None
    return None


def _tags(doc: Mapping[str, Any]) -> list[str]:
    tags = doc.get("tag")
    names: list[str] = []
    for tag in tags if isinstance(tags, list) else [tags]:
        if isinstance(tag, Mapping) and tag.get("type") == "Hashtag":
            name = tag.get("name")
            if isinstance(name, str) and name.strip("#"):
                names.append(name.strip().removeprefix("#"))
    return names


def _city_entry(obj: Object, kind: str) -> Entry | None:
    cls = Project if obj.type == "Project" else Challenge
    try:
        item = cls.from_plain(obj.document)
    except ValueError:
        return None
    primary = item.language or "en"
    texts = {primary: (item.name, f"{item.teaser} {plain(item.description)}".strip())}
    for lang in dict.fromkeys([*item.name_map, *item.teaser_map, *item.description_map]):
        title = item.name_map.get(lang, "")
        body = f"{item.teaser_map.get(lang, '')} {plain(item.description_map.get(lang, ''))}"
        texts[lang] = (title, body.strip())
    return Entry(
        object_id=obj.id,
        actor_id=obj.actor_id,
        kind=kind,
        local=bool(obj.local),
        public=_is_public(obj.document),
        phase=item.phase or None,
        tags=list(item.tags),
        sdgs=list(item.sdgs),
        language=primary,
        published=obj.published,
        texts=texts,
    )


def entry_of(obj: Object) -> Entry | None:
    """The index entry of an object row, or None when it is not searchable (deleted, a kind we
    do not search, a comment that is held or removed, a document we cannot read)."""
    kind = KINDS.get(obj.type)
    doc = obj.document
    if kind is None or obj.deleted_at is not None or not isinstance(doc, Mapping):
        return None
    if kind != "comment":
        return _city_entry(obj, kind)
    if obj.state not in (None, "published"):
        return None
    language = _language(doc)
    return Entry(
        object_id=obj.id,
        actor_id=obj.actor_id,
        kind=kind,
        local=bool(obj.local),
        public=_is_public(doc),
        phase=None,
        tags=_tags(doc),
        sdgs=[],
        language=language,
        published=obj.published,
        texts=_texts(doc, language),
    )


# --- writing ------------------------------------------------------------------------------------


def _tsvector(entry: Entry) -> Any:
    """PostgreSQL: each language's text in its configuration, plus every word in 'simple'."""
    parts = []
    for index, (lang, (title, body)) in enumerate(entry.texts.items()):
        config = PG_CONFIGS.get(lang.split("-")[0])
        if config is None:
            continue
        words: Any = bindparam(f"w{index}", fold(f"{title} {body}"))
        parts.append(func.to_tsvector(literal_column(f"'{config}'::regconfig"), words))
    everything = fold(" ".join(f"{title} {body}" for title, body in entry.texts.values()))
    vector: Any = func.to_tsvector(
        literal_column("'simple'::regconfig"), bindparam("all", everything)
    )
    for part in parts:
        vector = vector.op("||")(part)
    return vector


def write_entries(connection: Connection, rows: Sequence[Object]) -> None:
    """Rewrite the index entries of ``rows`` on ``connection`` (inside the caller's transaction)."""
    if not rows:
        return
    pg = connection.dialect.name == "postgresql"
    connection.execute(delete(entries).where(entries.c.object_id.in_([row.id for row in rows])))
    found = [entry for entry in map(entry_of, rows) if entry is not None]
    if pg:
        # One statement per entry: each has its own set of languages, hence its own tsvector.
        for entry in found:
            connection.execute(insert(entries).values(**entry.row(), tsv=_tsvector(entry)))
    elif found:
        connection.execute(insert(entries), [entry.row() for entry in found])


def _index_on_flush(session: Session, _context: Any) -> None:
    changed = [
        obj for obj in (*session.new, *session.dirty, *session.deleted) if isinstance(obj, Object)
    ]
    if not changed:
        return
    gone = [obj for obj in changed if obj in session.deleted]
    connection = session.connection()
    if gone:
        connection.execute(delete(entries).where(entries.c.object_id.in_([o.id for o in gone])))
    live = [obj for obj in changed if obj not in session.deleted and obj.id is not None]
    if live and _has_index(connection):
        write_entries(connection, live)


_KNOWN: dict[str, bool] = {}


def _has_index(connection: Connection) -> bool:
    """Whether the database is migrated to 0009 (a node older than that writes no entries)."""
    key = str(connection.engine.url)
    if not _KNOWN.get(key):
        found = connection.dialect.has_table(connection, "search_entries")
        _KNOWN[key] = found
        return found
    return True


# ``after_flush``: new rows have their ids, and session.new/dirty/deleted still name them.
event.listen(Session, "after_flush", _index_on_flush)


def _write_batch(sync: Session, rows: Sequence[Object]) -> None:
    write_entries(sync.connection(), rows)


async def reindex(session: AsyncSession, *, batch: int = 500) -> int:
    """Rebuild every entry (after a restore, or a bulk change made outside the ORM)."""
    count = 0
    last = 0
    while True:
        rows = list(
            await session.scalars(
                select(Object).where(Object.id > last).order_by(Object.id).limit(batch)
            )
        )
        if not rows:
            return count
        await session.run_sync(_write_batch, rows)
        count += len(rows)
        last = rows[-1].id


# --- reading ------------------------------------------------------------------------------------


@dataclass
class Filters:
    """What a search (or the catalogue) is narrowed to; None means any."""

    city: str | None = None  # an actor id (ap_id), "handle@domain", or a domain
    kind: str | None = None  # project | challenge | comment
    phase: str | None = None
    sdg: int | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    public_only: bool = False
    local: bool | None = None


@dataclass
class Hit:
    """One result: the object, its author, the rank (higher is better) and a snippet, already
    HTML-escaped with matched words in <mark>."""

    obj: Object
    author: Actor
    rank: float
    title: str
    snippet: str


class BadQuery(ValueError):
    """The search words or a filter cannot be used (too long, not a date, no such kind…)."""


def _date(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery(f"{name}: a date like 2026-12-03") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def filters_from(query: Mapping[str, str], *, public_only: bool) -> Filters:
    """The filters of a search or catalogue request's query string (the same names in every
    face: city, type, phase, sdg, tag, since, until); BadQuery names a bad one."""
    kind = query.get("type", "").strip()
    if kind and kind not in TYPES:
        raise BadQuery("type: project, challenge or comment")
    sdg = query.get("sdg", "").strip()
    if sdg and not (sdg.isdigit() and 1 <= int(sdg) <= 17):
        raise BadQuery("sdg: a goal number from 1 to 17")
    texts = {name: query.get(name, "").strip()[:255] for name in ("city", "phase", "tag")}
    return Filters(
        city=texts["city"] or None,
        kind=kind or None,
        phase=texts["phase"] or None,
        sdg=int(sdg) if sdg else None,
        tag=texts["tag"].removeprefix("#") or None,
        since=_date(query.get("since", "").strip(), "since"),
        until=_date(query.get("until", "").strip(), "until"),
        public_only=public_only,
    )


def fts5_query(words: str) -> str:
    """User words as an FTS5 query that cannot be a syntax error: each word a quoted string
    (quotes doubled), all of them required; a trailing ``*`` stays a prefix search."""
    terms = []
    for word in words.split():
        prefix = word.endswith("*") and len(word) > 1
        core = word.rstrip("*") if prefix else word
        if not any(ch.isalnum() for ch in core):
            continue
        terms.append('"' + core.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(terms)


def _where(filters: Filters) -> list[Any]:
    clauses: list[Any] = [actor_not_blocked(entries.c.actor_id)]
    if filters.kind:
        clauses.append(entries.c.kind == filters.kind)
    if filters.phase:
        clauses.append(entries.c.phase == filters.phase)
    if filters.sdg:
        clauses.append(entries.c.sdgs.contains(f"|{int(filters.sdg)}|"))
    if filters.tag:
        tag = filters.tag.removeprefix("#").casefold()
        clauses.append(entries.c.tags.contains(f"|{tag}|", autoescape=True))
    if filters.since:
        clauses.append(entries.c.published >= filters.since)
    if filters.until:
        clauses.append(entries.c.published < filters.until)
    if filters.public_only:
        clauses.append(entries.c.public.is_(True))
    if filters.local is not None:
        clauses.append(entries.c.local.is_(filters.local))
    if filters.city:
        city = filters.city.strip().removeprefix("@")
        authors = select(Actor.id).where(
            or_(
                Actor.ap_id == city,
                Actor.domain == city,
                and_(
                    Actor.handle == city.partition("@")[0], Actor.domain == city.partition("@")[2]
                ),
            )
        )
        clauses.append(entries.c.actor_id.in_(authors))
    return clauses


async def search(
    session: AsyncSession, words: str, filters: Filters, *, offset: int = 0, limit: int = 20
) -> tuple[list[Hit], int]:
    """Objects matching ``words`` (all of them, any language, diacritics ignored) and
    ``filters``, best first: one page of hits and how many there are in all.

    This is the one search every face calls (staff pages, public pages, REST API, and the
    Mastodon ``/api/v2/search``: ``search(session, q, Filters(public_only=not signed_in))``).
    """
    words = words.strip()
    if len(words) > MAX_QUERY:
        raise BadQuery(f"at most {MAX_QUERY} characters")
    if dialect_name(session) == "postgresql":
        return await _search_pg(session, words, filters, offset, limit)
    return await _search_sqlite(session, words, filters, offset, limit)


async def _search_sqlite(
    session: AsyncSession, words: str, filters: Filters, offset: int, limit: int
) -> tuple[list[Hit], int]:
    match = fts5_query(words)
    if not match:
        return [], 0
    where = [*_where(filters), literal_column("search_fts").op("MATCH")(match)]
    joined = entries.join(fts, fts.c.rowid == entries.c.object_id)
    total = await session.scalar(select(func.count()).select_from(joined).where(*where)) or 0
    if not total:
        return [], 0
    # bm25 is lower-is-better; the title counts three times the body. Snippets are made in a
    # second query for the page's rows only: in the ranking query SQLite would compute them for
    # every match before sorting (measured: p99 x30 on broad words, bench/search.py).
    rank: Any = literal_column("bm25(search_fts, 3.0, 1.0)")
    query = (
        select(entries.c.object_id, rank)
        .select_from(joined)
        .where(*where)
        .order_by(rank, entries.c.published.desc())
        .offset(offset)
        .limit(limit)
    )
    ranked = [(oid, -float(r)) for oid, r in (await session.execute(query)).all()]
    if not ranked:
        return [], total
    snippets = await session.execute(
        select(
            fts.c.rowid,
            literal_column(f"snippet(search_fts, 0, '{_OPEN}', '{_CLOSE}', '…', 12)"),
            literal_column(f"snippet(search_fts, 1, '{_OPEN}', '{_CLOSE}', '…', 24)"),
        ).where(
            literal_column("search_fts").op("MATCH")(match),
            fts.c.rowid.in_([oid for oid, _ in ranked]),
        )
    )
    texts = {oid: (title, body) for oid, title, body in snippets.all()}
    found = [(oid, r, *texts.get(oid, ("", ""))) for oid, r in ranked]
    return await _hits(session, found), total


def _pg_query(words: str) -> Any:
    folded: Any = bindparam("q", fold(words))
    query: Any = func.websearch_to_tsquery(literal_column("'simple'::regconfig"), folded)
    for config in sorted(set(PG_CONFIGS.values())):
        query = query.op("||")(
            func.websearch_to_tsquery(literal_column(f"'{config}'::regconfig"), folded)
        )
    return query


async def _search_pg(
    session: AsyncSession, words: str, filters: Filters, offset: int, limit: int
) -> tuple[list[Hit], int]:
    if not any(ch.isalnum() for ch in words):
        return [], 0
    tsv: Any = entries.c.tsv
    tsquery = select(_pg_query(words).label("q")).cte("tsq")
    q: Any = literal_column("tsq.q")
    where = [*_where(filters), tsv.op("@@")(q)]
    base = select(func.count()).select_from(entries).join(tsquery, literal_column("true"))
    total = await session.scalar(base.where(*where)) or 0
    if not total:
        return [], 0
    rank = func.ts_rank_cd(tsv, q)
    options = f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxFragments=2, MaxWords=24, MinWords=8"
    page = (
        select(entries.c.object_id, entries.c.title, entries.c.body, rank.label("rank"))
        .select_from(entries)
        .join(tsquery, literal_column("true"))
        .where(*where)
        .order_by(rank.desc(), entries.c.published.desc())
        .offset(offset)
        .limit(limit)
        .subquery()
    )
    # Headlines only for the page: ts_headline re-parses the text and is the costly part.
    query = select(
        page.c.object_id,
        page.c.rank,
        func.ts_headline(
            literal_column("'simple'::regconfig"), page.c.title, q, "HighlightAll=true"
        ),
        func.ts_headline(literal_column("'simple'::regconfig"), page.c.body, q, options),
    ).select_from(page.join(tsquery, literal_column("true")))
    rows = (await session.execute(query.order_by(page.c.rank.desc()))).all()
    found = [(oid, float(r), t, s) for oid, r, t, s in rows]
    return await _hits(session, found), total


async def _hits(session: AsyncSession, found: list[tuple[int, float, str, str]]) -> list[Hit]:
    ids = [oid for oid, *_ in found]
    if not ids:
        return []
    rows = await session.execute(
        select(Object, Actor).join(Actor, Actor.id == Object.actor_id).where(Object.id.in_(ids))
    )
    by_id = {obj.id: (obj, actor) for obj, actor in rows}
    hits = []
    for oid, rank, title, snippet in found:
        if oid in by_id:
            obj, actor = by_id[oid]
            hits.append(Hit(obj, actor, rank, marked(title), marked(snippet)))
    return hits


def marked(fragment: str) -> str:
    """A snippet safe to put in HTML: everything escaped, then only our markers made <mark>."""
    return escape(fragment or "").replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


async def catalogue(
    session: AsyncSession, filters: Filters, *, offset: int = 0, limit: int = 20
) -> tuple[list[tuple[Object, Actor]], int]:
    """Projects and challenges the node knows (ours and partners'), newest first, filtered:
    the public catalogue (``public_only``), tag pages and SDG pages."""
    where = _where(filters)
    if filters.kind is None:
        where.append(entries.c.kind.in_(("project", "challenge")))
    total = await session.scalar(select(func.count()).select_from(entries).where(*where)) or 0
    ids = (
        select(entries.c.object_id)
        .where(*where)
        .order_by(entries.c.published.desc(), entries.c.object_id.desc())
        .offset(offset)
        .limit(limit)
    )
    rows = await session.execute(
        select(Object, Actor)
        .join(Actor, Actor.id == Object.actor_id)
        .where(Object.id.in_(ids))
        .order_by(Object.published.desc(), Object.id.desc())
    )
    return [(obj, actor) for obj, actor in rows], total
