"""A missing page for a browser is a page (machines still get JSON); the sign-in page names the
city (issue 19)."""

from __future__ import annotations

from tests.rig import TestNode

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_gets_a_404_page_and_a_machine_json(node: TestNode) -> None:
    for path in ("/no/such/page", "/actors/nobody/nothing"):
        async with node.get(path, headers={"Accept": BROWSER}) as resp:
            assert resp.status == 404 and resp.content_type == "text/html"
            page = await resp.text()
        assert "<h1>Page not found</h1>" in page and 'href="/"' in page
        assert resp.headers["Content-Security-Policy"]
        for accept in ("application/activity+json", "application/json", ""):
            async with node.get(path, headers={"Accept": accept}) as resp:
                assert resp.status == 404 and resp.content_type == "application/json"
                assert "error" in await resp.json()
    # The API stays JSON whatever the client asks for.
    async with node.get("/api/cityfed/v1/nothing", headers={"Accept": BROWSER}) as resp:
        assert resp.content_type == "application/json"


async def test_the_sign_in_page_names_the_city(node: TestNode) -> None:
    async with node.get("/staff/login") as resp:
        page = await resp.text()
    name = node.node.settings.domain
    assert "For the staff of City of Berlin." in page, page
    assert f"staff of {name}" not in page
