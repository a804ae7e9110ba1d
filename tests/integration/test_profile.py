"""A city's profile between real nodes (issue 16.1): set on one node through the API, received by a
follower as ``Update{Organization}``; rel=me verification against pages served on loopback;
hostile input refused or sanitised, with nothing stored half-way."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from typing import Any

import aiohttp
from aiohttp import web
from PIL import Image
from sqlalchemy import func, select

from cityfed.models import actors as actor_queries
from cityfed.models.tables import Activity, Delivery, Media, ProfileField
from tests.integration import test_staff_auth as shared
from tests.media_support import encode, fake_png, picture, png_bomb
from tests.rig import TestNode, free_port, settle

# The staff fixtures (test_staff_auth.py), shared with this module.
fast_hashing, staff = shared.fast_hashing, shared.staff


@asynccontextmanager
async def page_server(pages: dict[str, str]) -> AsyncIterator[Callable[[str], str]]:
    """A plain web site on loopback serving ``pages`` (path -> HTML), changeable while it runs."""

    async def serve(request: web.Request) -> web.Response:
        body = pages.get(request.path)
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(text=body, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield lambda path: f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every element of an HTML fragment with its attributes, as a browser's parser sees them."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


def upload(data: bytes, alt_text: str | None = None) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="picture.png", content_type="image/png")
    if alt_text is not None:
        form.add_field("alt_text", alt_text)
    return form


async def count(test_node: TestNode, table: Any) -> int:
    async with test_node.node.db.session() as session:
        return await session.scalar(select(func.count()).select_from(table)) or 0


async def remote_copy(test_node: TestNode, actor_id: str) -> Any:
    async with test_node.node.db.session() as session:
        return await actor_queries.actor_by_ap_id(session, actor_id)


async def test_a_profile_change_reaches_the_follower(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)

    changed = await b.api(
        "PATCH",
        "/profile",
        json={
            "display_name": "Freie und Hansestadt Hamburg",
            "bio": "Smart city projects of **Hamburg**.\n\nSee [our portal](https://hamburg.example/).",
            "fields": [
                {"name": "Open data", "value": "https://transparenz.hamburg.example"},
                {"name": "Contact", "value": "digital@hamburg.example"},
            ],
        },
        status=200,
    )
    assert changed["display_name"] == "Freie und Hansestadt Hamburg"
    assert "<strong>Hamburg</strong>" in changed["bio_html"]
    assert [f["name"] for f in changed["fields"]] == ["Open data", "Contact"]
    with_avatar = await b.api(
        "PUT", "/profile/avatar", data=upload(encode(picture(600, 600), "PNG"), "Harbour crane")
    )
    assert with_avatar["avatar"]["alt_text"] == "Harbour crane"
    assert with_avatar["avatar"]["media_type"] in ("image/png", "image/jpeg")
    with_header = await b.api("PUT", "/profile/header", data=upload(encode(picture(), "PNG")))
    assert with_header["header"]["alt_text"] == "Header of Freie und Hansestadt Hamburg"

    # The actor document carries it all, as Mastodon sends it.
    doc = await b.get_json(f"/actors/{b.handle}")
    assert doc["name"] == "Freie und Hansestadt Hamburg"
    assert doc["summary"] == changed["bio_html"]
    assert doc["icon"] == {
        "type": "Image",
        "mediaType": with_avatar["avatar"]["media_type"],
        "url": with_avatar["avatar"]["url"],
    }
    assert doc["image"]["url"] == with_header["header"]["url"]
    website, contact = doc["attachment"]
    assert website["type"] == "PropertyValue" and website["name"] == "Open data"
    assert 'href="https://transparenz.hamburg.example"' in website["value"]
    assert 'rel="nofollow noopener noreferrer me"' in website["value"]
    assert contact == {
        "type": "PropertyValue",
        "name": "Contact",
        "value": "digital@hamburg.example",
    }
    # The images are served, with their type and for a long time.
    async with b.get(doc["icon"]["url"]) as resp:
        assert resp.status == 200
        assert resp.content_type == doc["icon"]["mediaType"]
        assert "immutable" in resp.headers["Cache-Control"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"

    # Three changes, three Updates, each delivered to the follower, who keeps the newest.
    async with b.node.db.session() as session:
        updates = await session.scalar(
            select(func.count()).select_from(Activity).where(Activity.type == "Update")
        )
    assert updates == 3
    await settle(a, b)
    copy = await remote_copy(a, b.actor_id)
    assert copy.name == "Freie und Hansestadt Hamburg"
    assert copy.summary == changed["bio_html"]
    assert copy.icon_url == with_avatar["avatar"]["url"]
    assert copy.header_url == with_header["header"]["url"]

    # Removing the avatar deletes it and tells the follower.
    gone = await b.api("DELETE", "/profile/avatar", status=200)
    assert gone["avatar"] is None
    assert await count(b, Media) == 1  # the header is left
    await settle(a, b)
    assert (await remote_copy(a, b.actor_id)).icon_url is None
    assert "icon" not in await b.get_json(f"/actors/{b.handle}")


async def test_the_public_profile_page_shows_it_all(node: TestNode) -> None:
    await node.api(
        "PATCH",
        "/profile",
        json={
            "bio": "We *publish* our projects.",
            "fields": [{"name": "Phone", "value": "+49 30 1"}],
        },
        status=200,
    )
    await node.api("PUT", "/profile/avatar", data=upload(encode(picture(500, 500), "PNG"), "Bear"))
    async with node.get(f"/@{node.handle}", headers={"Accept": "text/html"}) as resp:
        assert resp.status == 200
        html = await resp.text()
    assert "<em>publish</em>" in html
    assert "<dt>Phone</dt>" in html and "+49 30 1" in html
    assert 'class="profile-avatar u-photo"' in html and 'alt="Bear"' in html


async def test_hostile_bio_and_fields_are_sanitised(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    hostile = (
        "<script>alert(1)</script> <img src=x onerror=alert(2)> "
        "[click](javascript:alert(3)) <a href='https://evil.example' onclick='x()'>a</a>\n\n"
        '<iframe src="https://evil.example"></iframe> **bold**'
    )
    result = await b.api(
        "PATCH",
        "/profile",
        json={
            "bio": hostile,
            "fields": [{"name": "<b>Web</b>", "value": '"><script>alert(4)</script>'}],
        },
        status=200,
    )
    for html in (result["bio_html"], result["fields"][0]["value_html"]):
        for tag, attrs in elements(html):
            assert tag in {"p", "a", "strong", "br", "span"}, (tag, html)
            assert not any(name.startswith("on") for name, _ in attrs), html
            href = dict(attrs).get("href")
            assert href is None or href.startswith("https://"), html
    # The markup written into the bio is kept as visible text, never as markup.
    assert "&lt;script&gt;" in result["bio_html"]
    assert "<strong>bold</strong>" in result["bio_html"]
    async with b.get(f"/@{b.handle}", headers={"Accept": "text/html"}) as resp:
        page = await resp.text()
    assert "<script>alert" not in page and "<b>Web</b>" not in page
    await settle(a, b)
    copy = await remote_copy(a, b.actor_id)
    assert copy.summary == result["bio_html"]


async def test_bad_input_is_refused_and_nothing_changes(node: TestNode) -> None:
    before = await node.api("GET", "/profile", status=200)
    nine = [{"name": f"F{i}", "value": "x"} for i in range(9)]
    refused = await node.api("PATCH", "/profile", json={"fields": nine}, status=422)
    assert "at most 8" in refused["error"]
    await node.api("PATCH", "/profile", json={"display_name": "  "}, status=422)
    await node.api("PATCH", "/profile", json={"bio": "x" * 5001}, status=422)
    await node.api("PATCH", "/profile", json={"colour": "red"}, status=422)
    await node.api("PATCH", "/profile", json={"fields": [{"name": "A"}]}, status=422)
    await node.api("PUT", "/profile/avatar", data=upload(fake_png()), status=422)
    await node.api("PUT", "/profile/header", data=upload(png_bomb(60000, 60000)), status=413)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    await node.api("PUT", "/profile/avatar", data=upload(svg), status=415)
    await node.api("PUT", "/profile/avatar", json={"file": "x"}, status=415)
    await node.api("DELETE", "/profile/header", status=200)  # none there: nothing to announce
    assert await node.api("GET", "/profile", status=200) == before
    assert await count(node, Media) == 0
    async with node.node.db.session() as session:
        updates = await session.scalar(
            select(func.count()).select_from(Activity).where(Activity.type == "Update")
        )
    assert updates == 0
    # An editor may not change the city's profile.
    await node.api("GET", "/profile", token=node.editor_token, status=403)
    await node.api("PATCH", "/profile", json={"bio": "x"}, token=node.editor_token, status=403)


async def test_links_are_verified_by_a_rel_me_link_back(node: TestNode) -> None:
    profile_url = f"{node.base}/@{node.handle}"
    pages = {
        "/with": f'<html><head><link rel="me" href="{profile_url}"></head><body>Hi</body></html>',
        "/anchor": f'<p><a href="{node.actor_id}" rel="noopener ME">us</a></p>',
        "/without": f'<p><a href="{profile_url}">us, but no rel=me</a></p>',
        "/elsewhere": '<a rel="me" href="https://someone-else.example/@x">x</a>',
    }
    async with page_server(pages) as url:
        fields = [
            {"name": "Website", "value": url("/with")},
            {"name": "Portal", "value": url("/anchor")},
            {"name": "Blog", "value": url("/without")},
            {"name": "Other", "value": url("/elsewhere")},
            {"name": "Gone", "value": url("/404")},
            {"name": "Phone", "value": "+49 30 1"},
        ]
        result = await node.api("PATCH", "/profile", json={"fields": fields}, status=200)
        verified = {f["name"]: f["verified_at"] is not None for f in result["fields"]}
        assert verified == {
            "Website": True,
            "Portal": True,
            "Blog": False,
            "Other": False,
            "Gone": False,
            "Phone": False,
        }
        # Shown as verified on our page, never sent: each server verifies for itself.
        async with node.get(f"/@{node.handle}", headers={"Accept": "text/html"}) as resp:
            page = await resp.text()
        assert page.count("✓ verified") == 2
        doc = await node.get_json(f"/actors/{node.handle}")
        assert all(set(item) == {"type", "name", "value"} for item in doc["attachment"])

        # Saving the same fields again keeps the verification of unchanged values; the page
        # losing its back-link loses the mark at the next check.
        pages["/with"] = "<p>nothing here any more</p>"
        again = await node.api("PATCH", "/profile", json={"fields": fields}, status=200)
        assert again["fields"][0]["verified_at"] == result["fields"][0]["verified_at"]
        rechecked = await node.api("POST", "/profile/verify", status=200)
        assert [f["verified_at"] is not None for f in rechecked["fields"]][:2] == [False, True]
        # A changed value starts unverified and is checked at once.
        pages["/new"] = f'<a rel="me" href="{profile_url}">back</a>'
        fields[2] = {"name": "Blog", "value": url("/new")}
        changed = await node.api("PATCH", "/profile", json={"fields": fields}, status=200)
        assert changed["fields"][2]["verified_at"] is not None


async def test_verification_never_fetches_private_addresses_unless_allowed(nodes) -> None:
    guarded = await nodes("munich", allow_private_addresses=False)
    pages = {"/with": f'<a rel="me" href="{guarded.base}/@{guarded.handle}">back</a>'}
    async with page_server(pages) as url:
        result = await guarded.api(
            "PATCH", "/profile", json={"fields": [{"name": "Web", "value": url("/with")}]}
        )
    assert result["fields"][0]["verified_at"] is None


async def test_profile_fields_rows_follow_the_list(node: TestNode) -> None:
    await node.api(
        "PATCH",
        "/profile",
        json={"fields": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
        status=200,
    )
    cleared = await node.api("PATCH", "/profile", json={"fields": []}, status=200)
    assert cleared["fields"] == []
    assert await count(node, ProfileField) == 0
    assert await count(node, Delivery) == 0  # no followers, nothing to deliver


async def test_admins_edit_the_profile_on_the_staff_page(nodes, staff) -> None:
    a = await nodes("berlin")
    admin = await staff(a, "admin")
    editor = await staff(a, "editor")
    assert (await editor.get("/staff/admin/profile")).status == 403
    form = await admin.get("/staff/admin/profile")
    assert form.status == 200 and 'name="field_name_7"' in form.text
    saved = await admin.post(
        "/staff/admin/profile",
        {
            "display_name": "Land Berlin",
            "bio": "Projects of *Berlin*.",
            "field_name_0": "Website",
            "field_value_0": "https://berlin.example",
            "field_name_3": "Phone",
            "field_value_3": "+49 30 1",
        },
    )
    assert saved.status == 303, saved.text[:300]
    profile = await a.api("GET", "/profile", status=200)
    assert profile["display_name"] == "Land Berlin"
    assert profile["bio_html"] == "<p>Projects of <em>Berlin</em>.</p>"
    assert [(f["name"], f["value"]) for f in profile["fields"]] == [
        ("Website", "https://berlin.example"),
        ("Phone", "+49 30 1"),
    ]
    # A refused form keeps what was typed and changes nothing.
    await admin.get("/staff/admin/profile")
    refused = await admin.post(
        "/staff/admin/profile", {"display_name": "Land Berlin", "field_name_0": "Website"}
    )
    assert refused.status == 422 and "both a name and a value" in refused.text
    assert (await a.api("GET", "/profile"))["fields"] == profile["fields"]

    # The avatar is uploaded as a file, larger than the app's limit for text forms.
    noise = random.Random(7).randbytes(720 * 720 * 3)  # incompressible: a large PNG
    big = encode(Image.frombytes("RGB", (720, 720), noise), "PNG")
    assert len(big) > a.settings.max_body_bytes
    await admin.get("/staff/admin/profile")
    upload_form = aiohttp.FormData()
    upload_form.add_field("csrf", admin.csrf)
    upload_form.add_field("role", "avatar")
    upload_form.add_field("alt_text", "The bear")
    upload_form.add_field("file", big, filename="bear.png", content_type="image/png")
    async with admin.http.post(
        a.url("/staff/admin/profile/image"), data=upload_form, allow_redirects=False
    ) as resp:
        assert resp.status == 303, (await resp.text())[:300]
    avatar = (await a.api("GET", "/profile"))["avatar"]
    assert avatar["alt_text"] == "The bear"
    page = await admin.get("/staff/admin/profile")
    assert avatar["url"] in page.text
    # Without the form's CSRF value, nothing happens.
    forged = aiohttp.FormData()
    forged.add_field("role", "avatar")
    forged.add_field("remove", "1")
    async with admin.http.post(
        a.url("/staff/admin/profile/image"), data=forged, allow_redirects=False
    ) as resp:
        assert resp.status == 403
    assert (await a.api("GET", "/profile"))["avatar"] == avatar
    removed = await admin.post("/staff/admin/profile/image", {"role": "avatar", "remove": "1"})
    assert removed.status == 303
    assert (await a.api("GET", "/profile"))["avatar"] is None
