"""Suggested solutions (issue 18.4) on real nodes seeded like the three-city demo: Berlin's
"Cooling schools in summer" lists Barcelona's climate shelters, with the reasons."""

from __future__ import annotations

from typing import Any

from cityfed.demo_cities import CITIES
from cityfed.federation import backfill
from tests.rig import TestNode, settle


async def _seed(nodes: Any) -> tuple[dict[str, TestNode], dict[str, str]]:
    running = {city.handle: await nodes(city.handle) for city in CITIES}
    uids: dict[str, str] = {}
    for city in CITIES:
        for kind, body in city.items:
            created = await running[city.handle].api("POST", f"/{kind}s", json=body, status=201)
            uids[body["title"]] = created["id"]
    for city in CITIES:
        for other in city.follows:
            await running[city.handle].api(
                "POST", "/follows", json={"account": running[other].account}, status=201
            )
    await settle(*running.values())
    for test_node in running.values():
        await backfill.run_once(test_node.node)  # partners' earlier items, as after a follow
    return running, uids


async def test_cooling_schools_lists_climate_shelters_with_reasons(nodes) -> None:
    running, uids = await _seed(nodes)
    berlin = running["berlin"]
    challenge_uid = uids["Cooling schools in summer"].rsplit("/", 1)[1]
    answer = await berlin.api("GET", f"/challenges/{challenge_uid}/suggestions", status=200)
    titles = [item["title"] for item in answer["items"]]
    assert "Climate shelters in schools" in titles, titles
    shelters = answer["items"][titles.index("Climate shelters in schools")]
    assert shelters["id"] == uids["Climate shelters in schools"]
    assert shelters["local"] is False
    assert shelters["shared_tags"] == ["heat", "schools"]
    assert shelters["shared_sdgs"] == [3, 4, 13]
    assert shelters["reasons"].startswith("shares #heat, #schools, SDG 3, 4, 13")
    assert shelters["reasons"].endswith("operational in Barcelona")
    # It shares the most: it comes first.
    assert titles[0] == "Climate shelters in schools"
    assert all(
        a["score"] >= b["score"] for a, b in zip(answer["items"], answer["items"][1:], strict=False)
    )


async def test_suggestions_of_an_unknown_challenge_is_404(nodes) -> None:
    berlin = await nodes("berlin")
    await berlin.api("GET", "/challenges/nope/suggestions", status=404)
