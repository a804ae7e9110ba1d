"""Suggested solutions (issue 18.4) on real nodes seeded like the three-city demo: Berlin's
"Cooling schools in summer" lists Barcelona's climate shelters, with the reasons."""

from __future__ import annotations

from typing import Any

from cityfed.demo_cities import CITIES
from cityfed.federation import backfill
from tests.integration import test_staff_auth as shared
from tests.rig import TestNode, settle

# The staff fixtures (test_staff_auth.py), shared with this module.
fast_hashing, staff = shared.fast_hashing, shared.staff


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


async def test_staff_pages_show_suggestions_and_offer_in_one_step(nodes, staff) -> None:
    running, uids = await _seed(nodes)
    berlin, barcelona = running["berlin"], running["barcelona"]
    challenge = uids["Cooling schools in summer"]
    # Berlin's own open challenge: suggestions from across the federation, with the reasons and
    # a way to ask about each (the comment form on the project's page).
    editor = await staff(berlin, "editor")
    page = await editor.get("/staff/object", params={"id": challenge})
    assert page.status == 200
    section = page.text[page.text.index('id="suggestions"') :]
    assert "Climate shelters in schools" in section
    assert "shares #heat, #schools, SDG 3, 4, 13" in section
    assert "Ask about it" in section
    assert "#reply-title" in section
    # Barcelona on its copy of Berlin's challenge: its own projects, each offered in one step.
    other = await staff(barcelona, "editor")
    page = await other.get("/staff/object", params={"id": challenge})
    assert page.status == 200
    assert "Our projects that might solve it" in page.text
    answer = await other.post(
        "/staff/offers",
        {
            "challenge": challenge,
            "project": uids["Climate shelters in schools"],
            "content": "shares #heat",
        },
    )
    assert answer.status in (302, 303), answer.text[:500]
    await settle(*running.values())
    (offer,) = (await berlin.api("GET", "/offers"))["items"]
    assert offer["project"] == uids["Climate shelters in schools"]
