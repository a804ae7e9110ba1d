"""Search and the public catalogue on real nodes (issue 18): Hamburg follows Berlin and
Barcelona and finds both cities' heat projects; diacritics, languages, filters, public-only
public pages, hostile query strings, the REST API, and tag and SDG pages with partners' items."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from cityfed.models import search as search_queries
from cityfed.models.tables import Object
from tests.integration import test_staff_auth as shared
from tests.rig import TestNode, settle

fast_hashing, staff = shared.fast_hashing, shared.staff

BERLIN_HEAT = {
    "title": "Hitzeschutz in Schulen",
    "teaser": "Kühle Klassenzimmer im Sommer.",
    "description": "Sonnensegel und Bäume gegen die Hitze.",
    "language": "de",
    "phase": "pilot",
    "tags": ["heat", "schools"],
    "sdgs": [3, 11],
    "translations": {"en": {"title": "Heat protection in schools", "teaser": "Cool classrooms."}},
}
BARCELONA_HEAT = {
    "title": "Climate shelters",
    "teaser": "Cool public buildings open to everyone during heat waves.",
    "description": "Libraries and schools as refuges from the heat.",
    "language": "en",
    "phase": "operational",
    "tags": ["heat", "climate"],
    "sdgs": [11, 13],
    "translations": {"es": {"title": "Refugios climáticos", "teaser": "Calor extremo."}},
}
BARCELONA_BIKES = {
    "title": "Superblocks",
    "teaser": "Streets returned to people.",
    "language": "en",
    "phase": "operational",
    "tags": ["mobility"],
    "sdgs": [11],
}


async def three_cities(nodes) -> tuple[TestNode, TestNode, TestNode, dict[str, str]]:
    berlin, hamburg, barcelona = (
        await nodes("berlin"),
        await nodes("hamburg"),
        await nodes("barcelona"),
    )
    for partner in (berlin, barcelona):
        await hamburg.api("POST", "/follows", json={"account": partner.account}, status=201)
    await settle(berlin, hamburg, barcelona)
    ids = {
        "berlin": (await berlin.api("POST", "/projects", json=BERLIN_HEAT, status=201))["id"],
        "barcelona": (await barcelona.api("POST", "/projects", json=BARCELONA_HEAT, status=201))[
            "id"
        ],
        "bikes": (await barcelona.api("POST", "/projects", json=BARCELONA_BIKES, status=201))["id"],
    }
    await settle(berlin, hamburg, barcelona)
    return berlin, hamburg, barcelona, ids


async def search_ids(node: TestNode, query: str) -> list[str]:
    found = await node.api("GET", f"/search?{query}", status=200)
    assert found["total"] == len(found["items"]) or found["page"] > 1
    return [item["id"] for item in found["items"]]


async def test_heat_in_hamburgs_staff_pages_finds_both_partners(nodes, staff) -> None:
    _, hamburg, _, ids = await three_cities(nodes)
    editor = await staff(hamburg, "editor")
    page = await editor.get("/staff/search?q=heat")
    assert page.status == 200
    assert "2 found." in page.text
    assert "City of Berlin" in page.text and "City of Barcelona" in page.text
    assert "<mark>" in page.text and ids["berlin"] in page.text and ids["barcelona"] in page.text
    assert "Superblocks" not in page.text
    # Only people signed in may use the staff search.
    async with hamburg.get("/staff/search?q=heat", allow_redirects=False) as resp:
        assert resp.status in (302, 303, 401)


async def test_diacritics_languages_and_ranking(nodes) -> None:
    _, hamburg, _, ids = await three_cities(nodes)
    # German words of Berlin's project, with and without the diacritics the text has or lacks.
    for words in ("Hitze", "hitzé", "KÜHLE", "kuhle", "Klassenzimmer"):
        assert await search_ids(hamburg, "q=" + quote(words)) == [ids["berlin"]], words
    # Every language of a multilingual item: Barcelona's Spanish title, Berlin's English one.
    assert await search_ids(hamburg, "q=" + quote("refugios climaticos")) == [ids["barcelona"]]
    assert await search_ids(hamburg, "q=classrooms") == [ids["berlin"]]
    # All words must match; the title counts more than the body.
    assert await search_ids(hamburg, "q=shelters+libraries") == [ids["barcelona"]]
    assert await search_ids(hamburg, "q=shelters+nowhere") == []
    found = await hamburg.api("GET", "/search?q=heat")
    assert found["total"] == 2 and found["page"] == 1
    first = found["items"][0]
    assert {"id", "type", "title_html", "snippet_html", "author", "rank"} <= set(first)
    assert "<mark>" in first["title_html"] + first["snippet_html"]


async def test_filters(nodes) -> None:
    berlin, hamburg, barcelona, ids = await three_cities(nodes)
    both = {ids["berlin"], ids["barcelona"]}
    assert set(await search_ids(hamburg, "q=heat")) == both
    assert await search_ids(hamburg, f"q=heat&city={quote(berlin.domain)}") == [ids["berlin"]]
    assert await search_ids(hamburg, f"q=heat&city={quote(barcelona.account)}") == [
        ids["barcelona"]
    ]
    assert await search_ids(hamburg, "q=heat&phase=operational") == [ids["barcelona"]]
    assert await search_ids(hamburg, "q=heat&sdg=3") == [ids["berlin"]]
    assert await search_ids(hamburg, "q=heat&tag=%23climate") == [ids["barcelona"]]
    assert await search_ids(hamburg, "q=heat&type=challenge") == []
    assert set(await search_ids(hamburg, "q=heat&type=project&since=2020-01-01")) == both
    assert await search_ids(hamburg, "q=heat&until=2020-01-01") == []
    for bad in ("type=poem", "sdg=18", "since=yesterday"):
        answer = await hamburg.api("GET", f"/search?q=heat&{bad}", status=422)
        assert answer["error"]


@pytest.mark.parametrize(
    "words",
    ['"', "heat AND", "NEAR(", "*", "heat OR -", "col:heat", "^", "'; drop table objects; --",
     "\x00", "a" * 200, "((heat", "heat*"],
)  # fmt: skip
async def test_hostile_queries_never_fail(nodes, words) -> None:
    node = await nodes("berlin")
    await node.api("POST", "/projects", json=BARCELONA_HEAT, status=201)
    found = await node.api("GET", "/search?q=" + quote(words), status=200)
    assert isinstance(found["items"], list)
    async with node.get("/search?q=" + quote(words)) as resp:
        assert resp.status == 200
    too_long = await node.api("GET", "/search?q=" + "a" * 201, status=422)
    assert too_long["error"].startswith("q:")


async def test_public_pages_show_public_items_only_and_escape(nodes) -> None:
    berlin, hamburg, barcelona, ids = await three_cities(nodes)
    async with hamburg.get("/search?q=heat") as resp:
        html = await resp.text()
    assert resp.status == 200 and html.count('class="result h-entry"') == 2
    assert barcelona.domain in html and berlin.domain in html
    # A partner's item that is not addressed to the public is found by staff, never publicly.
    async with hamburg.node.db.transaction() as session:
        row = await session.scalar(select(Object).where(Object.ap_id == ids["barcelona"]))
        assert row is not None
        row.document = {**row.document, "to": [], "cf:title": "Climate shelters <script>"}
    assert await search_ids(hamburg, "q=shelters") == [ids["barcelona"]]
    staff_hit = (await hamburg.api("GET", "/search?q=shelters"))["items"][0]
    assert "<script>" not in staff_hit["title_html"] and "&lt;script&gt;" in staff_hit["title_html"]
    async with hamburg.get("/search?q=shelters") as resp:
        assert "0 found." in await resp.text()
    async with hamburg.get("/catalogue") as resp:
        catalogue = await resp.text()
    assert ids["barcelona"] not in catalogue and "Superblocks" in catalogue


async def test_catalogue_tag_and_sdg_pages_include_partners(nodes) -> None:
    berlin, hamburg, barcelona, ids = await three_cities(nodes)
    own = await hamburg.api(
        "POST", "/projects", json={**BARCELONA_BIKES, "title": "Hamburg heat map"}, status=201
    )
    async with hamburg.get("/catalogue") as resp:
        html = await resp.text()
    assert resp.status == 200 and "4 found." in html
    for item_id in (*ids.values(), own["id"]):
        assert item_id in html
    assert "City of Berlin" in html and berlin.domain in html
    async with hamburg.get("/catalogue?city=" + quote(barcelona.domain) + "&sdg=13") as resp:
        html = await resp.text()
    assert ids["barcelona"] in html and ids["bikes"] not in html
    async with hamburg.get("/tags/heat") as resp:
        html = await resp.text()
    assert ids["berlin"] in html and ids["barcelona"] in html and own["id"] not in html
    async with hamburg.get("/sdgs/3") as resp:
        html = await resp.text()
    assert ids["berlin"] in html and ids["barcelona"] not in html
    async with hamburg.get("/sdgs/18") as resp:
        assert resp.status == 404


async def test_index_follows_edits_deletes_and_comments(nodes) -> None:
    node = await nodes("berlin")
    created = await node.api("POST", "/projects", json=BARCELONA_HEAT, status=201)
    uid = created["id"].rsplit("/", 1)[-1]
    await node.api("PATCH", f"/projects/{uid}", json={"title": "Cooling rooms"}, status=200)
    assert await search_ids(node, "q=cooling") == [created["id"]]
    await node.api(
        "POST",
        "/comments",
        json={"in_reply_to": created["id"], "content": "Brilliant idea"},
        status=201,
    )
    comments = await node.api("GET", "/search?q=brilliant&type=comment")
    assert comments["total"] == 1
    await node.api("DELETE", f"/projects/{uid}", status=204)
    assert await search_ids(node, "q=cooling") == []
    # The index can be rebuilt from the objects, with the same result.
    async with node.node.db.transaction() as session:
        assert await search_queries.reindex(session) >= 1
    assert await search_ids(node, "q=cooling") == []


async def test_migration_indexes_existing_objects(tmp_path) -> None:
    """Objects stored before 0009 are found after it (the migration's backfill)."""
    from sqlalchemy import insert

    from cityfed.models import migrate
    from cityfed.models.db import open_database
    from cityfed.models.tables import Actor
    from tests.rig import database_url

    async with database_url(tmp_path, "backfill", reuse=False) as url:
        db = open_database(url)
        try:
            await migrate.upgrade(db, "0013")
            async with db.transaction() as session:
                actor_id = (
                    await session.execute(
                        insert(Actor)
                        .values(
                            ap_id="https://b.example/a",
                            type="Organization",
                            handle="a",
                            domain="b.example",
                            name="City of B",
                        )
                        .returning(Actor.id)
                    )
                ).scalar_one()
                await session.execute(
                    insert(Object).values(
                        ap_id="https://b.example/c/1", type="Note", actor_id=actor_id,
                        state="published", document={
                            "id": "https://b.example/c/1", "type": "Note",
                            "to": ["https://www.w3.org/ns/activitystreams#Public"],
                            "contentMap": {"de": "<p>Gegen die Hitze helfen Bäume.</p>"},
                        },
                    )
                )  # fmt: skip
            await migrate.upgrade(db)
            async with db.session() as session:
                hits, total = await search_queries.search(
                    session, "baume", search_queries.Filters(public_only=True)
                )
                assert total == 1 and hits[0].obj.ap_id == "https://b.example/c/1"
                hits, _ = await search_queries.search(session, "hitze", search_queries.Filters())
            assert "<mark>Hitze</mark>" in hits[0].snippet
        finally:
            await db.dispose()
