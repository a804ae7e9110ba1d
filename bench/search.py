"""Search at 100,000 stored items (issue 18): p50 and p99 of ``models.search.search``.

A fresh database (SQLite, and PostgreSQL when CITYFED_BENCH_DATABASE_URL names one) is migrated,
then filled in bulk with 100,000 projects, challenges and comments of 100 cities (synthetic
multilingual text from a small vocabulary, so that common words match thousands of items and
rare ones a few) and their index entries. Queries run one at a time in this process, through the
same function every face calls, with a mix of common, rare, multi-word, prefix and filtered
searches, after a warm-up.

Baseline, measured in the same run on the same database: a plain indexed lookup of one object
by its id (``objects.ap_id``, unique index). The BENCH lines give the search p50/p99 against the
baseline's p50/p99; the issue's bound is p99 <= 50 ms. (In-process: the HTTP face adds what the
read benchmark's baseline shows for any GET.)
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text

from bench import common
from cityfed.activitypub.vocab import Challenge, Project
from cityfed.models import migrate
from cityfed.models import search as search_queries
from cityfed.models.db import open_database
from cityfed.models.tables import Actor, Object

QUERIES = 400
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
WARMUP = 40
WORDS = [
    "heat",
    "map",
    "flood",
    "sensor",
    "tree",
    "shade",
    "school",
    "cooling",
    "water",
    "bike",
    "lane",
    "park",
    "street",
    "data",
    "open",
    "energy",
    "solar",
    "roof",
    "garden",
    "transport",
    "bus",
    "tram",
    "noise",
    "air",
    "quality",
    "climate",
    "shelter",
    "library",
    "youth",
    "elderly",
    "housing",
    "district",
    "neighbourhood",
    "waste",
    "recycling",
    "light",
    "night",
    "safety",
    "health",
]
GERMAN = [
    "Hitze",
    "Karte",
    "Überflutung",
    "Schule",
    "Kühlung",
    "Wasser",
    "Straße",
    "Bäume",
    "Schatten",
    "Verkehr",
]
SPANISH = [
    "calor",
    "mapa",
    "inundación",
    "escuela",
    "refugio",
    "agua",
    "calle",
    "árboles",
    "sombra",
    "tráfico",
]
RARE = [f"kiezblock{n}" for n in range(200)]
# Most words of real texts are rarer than these: a 3,000-word filler vocabulary drawn with Zipf
# weights, so that "heat" matches a few percent of the items, not half of them.
FILLER = [f"w{n:04d}x" for n in range(3000)]
ZIPF = [1 / (rank + 1) for rank in range(len(FILLER) + len(WORDS))]
QUERY_MIX: list[tuple[str, dict[str, Any]]] = [
    ("heat", {}),
    ("heat map", {}),
    ("hitze", {}),
    ("kühlung schule", {}),
    ("refugio", {}),
    ("climate shelter library", {}),
    ("sola*", {}),
    ("kiezblock17", {}),
    ("water", {"kind": "project", "phase": "pilot"}),
    ("tree", {"sdg": 11}),
    ("noise", {"tag": "mobility"}),
    ("bike", {"public_only": True}),
    ('"open data" OR (', {}),  # hostile: quoted and searched as words
]


def _document(rng: random.Random, kind: str, ap_id: str, actor: str, n: int) -> dict[str, Any]:
    """A document as our vocabulary writes it (what the index reads back)."""
    title = " ".join(rng.sample(WORDS, 3)) + (f" {RARE[n % len(RARE)]}" if n % 97 == 0 else "")
    body = " ".join(rng.choices(FILLER + WORDS, weights=ZIPF, k=30))
    if kind == "Note":
        return {
            "id": ap_id,
            "type": "Note",
            "attributedTo": actor,
            "to": [PUBLIC] if n % 10 else [],
            "content": f"<p>{body}</p>",
            "contentMap": {"en": f"<p>{body}</p>"},
        }
    cls = Project if kind == "Project" else Challenge
    item = cls(
        id=ap_id,
        attributed_to=actor,
        name=title,
        teaser=body,
        language="en",
        name_map={"de": " ".join(rng.sample(GERMAN, 3)), "es": " ".join(rng.sample(SPANISH, 3))},
        teaser_map={
            "de": " ".join(rng.choices(GERMAN, k=12)),
            "es": " ".join(rng.choices(SPANISH, k=12)),
        },
        phase=rng.choice(cls.PHASES),
        tags=[rng.choice(["mobility", "climate", "heat", "water"])],
        sdgs=[rng.randint(1, 17)],
    )
    doc = item.to_ap(tag_url="https://example.org/tags/")
    doc.pop("@context", None)
    if not n % 10:
        doc["to"] = []
    return doc


async def _fill(url: str, total: int) -> None:
    db = open_database(url)
    try:
        await migrate.upgrade(db)
        rng = random.Random(18)
        base = datetime(2024, 1, 1, tzinfo=UTC)
        async with db.transaction() as session:
            actors = []
            for city in range(100):
                ap_id = f"https://city{city}.example/actors/city"
                actors.append(ap_id)
                await session.execute(
                    insert(Actor).values(
                        ap_id=ap_id,
                        local=city == 0,
                        type="Organization",
                        handle="city",
                        domain=f"city{city}.example",
                        name=f"City {city}",
                    )
                )
            ids = dict((await session.execute(select(Actor.ap_id, Actor.id))).all())
        done = 0
        while done < total:
            size = min(5_000, total - done)
            async with db.transaction() as session:
                objects = []
                for n in range(done, done + size):
                    kind = "Project" if n % 3 == 0 else "Challenge" if n % 3 == 1 else "Note"
                    actor = actors[n % 100]
                    ap_id = f"https://city{n % 100}.example/objects/{n}"
                    objects.append(
                        {
                            "ap_id": ap_id,
                            "type": kind,
                            "actor_id": ids[actor],
                            "local": n % 100 == 0,
                            "document": _document(rng, kind, ap_id, actor, n),
                            "published": base + timedelta(minutes=n),
                            "state": "published" if kind == "Note" else None,
                        }
                    )
                # Core inserts skip the ORM flush listener; the entries are written below with
                # the same code, in the same transaction.
                await session.execute(insert(Object), objects)
                rows = list(
                    await session.scalars(
                        select(Object).where(Object.id > done).order_by(Object.id).limit(size)
                    )
                )
                await session.run_sync(
                    lambda s, r=rows: search_queries.write_entries(s.connection(), r)
                )
            done += size
    finally:
        await db.dispose()


async def _measure(url: str, label: str) -> list[str]:
    db = open_database(url)
    rng = random.Random(7)
    try:
        async with db.session() as session:
            if label == "sqlite":
                await session.execute(text("PRAGMA optimize"))
            else:
                await session.execute(text("ANALYZE"))
            lookup = [
                f"https://city{n % 100}.example/objects/{n}" for n in rng.sample(range(1000), 200)
            ]
            base: list[float] = []
            for i in range(WARMUP + QUERIES):
                started = time.perf_counter()
                await session.scalar(select(Object).where(Object.ap_id == lookup[i % len(lookup)]))
                if i >= WARMUP:
                    base.append((time.perf_counter() - started) * 1000)
                session.expunge_all()
            took: list[float] = []
            totals: dict[str, int] = {}
            for i in range(WARMUP + QUERIES):
                words, filters = QUERY_MIX[i % len(QUERY_MIX)]
                started = time.perf_counter()
                _, total = await search_queries.search(
                    session, words, search_queries.Filters(**filters), limit=20
                )
                if i >= WARMUP:
                    took.append((time.perf_counter() - started) * 1000)
                totals[words] = total
                session.expunge_all()
    finally:
        await db.dispose()
    b50, b99 = common.percentile(base, 50), common.percentile(base, 99)
    p50, p99 = common.percentile(took, 50), common.percentile(took, 99)
    common.say(f"{label}: baseline (indexed lookup by id) p50 {b50:.2f} ms, p99 {b99:.2f} ms")
    common.say(f"{label}: search p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(took):.1f} ms")
    common.say(f"{label}: hits per query {totals}")
    if p99 > 50:
        common.say(f"WARNING {label}: search p99 {p99:.1f} ms is over the 50 ms bound")
    return [
        common.bench_line(f"search_{label}_p50", p50, "ms", b50),
        common.bench_line(f"search_{label}_p99", p99, "ms", b99),
    ]


async def run() -> list[str]:
    total = common.scaled(100_000, 1_000)
    lines: list[str] = []
    kinds = ["sqlite"] + (["postgresql"] if common.pg_base_url() else [])
    with common.workdir("search") as tmp:
        for kind in kinds:
            async with common.database(kind, tmp, "search") as url:
                began = time.monotonic()
                await _fill(url, total)
                common.say(
                    f"{kind}: {total} items stored and indexed in {time.monotonic() - began:.0f} s"
                )
                lines += await _measure(url, kind)
    return lines
