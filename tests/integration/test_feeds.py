"""Feeds for quiet readers (issue 18.6): the Atom feeds name an XSLT stylesheet a browser applies
(checked here by applying it with libxslt, as browsers do), and there are feeds per hashtag and
per SDG, linked from the tag pages."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lxml import etree

from tests.integration.test_web import (
    ATOM,
    CHALLENGE,
    PROJECT,
    delete,
    fetch,
    get_page,
    publish,
)
from tests.rig import TestNode

PI = b'<?xml-stylesheet type="text/xsl" href="/static/feed.xsl"?>'


async def as_browser_shows_it(node: TestNode, body: bytes) -> str:
    """The feed transformed by the stylesheet it names, as a browser does."""
    status, headers, xsl = await fetch(node, "/static/feed.xsl")
    assert status == 200 and headers["Content-Type"] == "text/xsl; charset=utf-8"
    transform = etree.XSLT(etree.fromstring(xsl))
    return str(transform(etree.fromstring(body)))


async def test_the_city_feed_reads_as_a_page_in_a_browser(nodes) -> None:
    b = await nodes("hamburg")
    project = await publish(b, "project", PROJECT)
    status, headers, body = await fetch(b, f"/actors/{b.handle}/feed.atom")
    assert status == 200 and headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    prolog, _, _ = body.partition(b"<feed")
    assert PI in prolog  # before the root element, where a processing instruction must be
    assert (
        ET.fromstring(body).findtext(f"{ATOM}title") == "City of Hamburg: projects and challenges"
    )
    page = await as_browser_shows_it(b, body)
    assert "<h1>City of Hamburg: projects and challenges</h1>" in page
    assert f'<a href="{project}">{PROJECT["title"]}</a>' in page
    assert PROJECT["teaser"] in page and "into a feed reader" in page
    assert f"{b.actor_id}/feed.atom" in page
    empty = await as_browser_shows_it(b, (await fetch(b, "/tags/nothing/feed.atom"))[2])
    assert "Nothing here yet." in empty


async def test_a_feed_per_hashtag_linked_from_its_page(nodes) -> None:
    b = await nodes("hamburg")
    project = await publish(b, "project", PROJECT)  # climate, OpenData
    challenge = await publish(b, "challenge", {**CHALLENGE, "tags": ["opendata"]})
    await publish(b, "project", {"title": "Untagged"})
    await delete(b, await publish(b, "project", {"title": "Withdrawn", "tags": ["OpenData"]}))
    page = await get_page(b, "/tags/OpenData")
    feed_url = f"{b.base}/tags/OpenData/feed.atom"
    link = (
        '<link rel="alternate" type="application/atom+xml" '
        f'title="#OpenData: projects and challenges" href="{feed_url}">'
    )
    assert link in page.text
    status, headers, body = await fetch(b, "/tags/OpenData/feed.atom")
    assert status == 200 and headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert PI in body
    feed = ET.fromstring(body)
    assert feed.findtext(f"{ATOM}id") == feed_url
    assert feed.findtext(f"{ATOM}title") == f"#OpenData: projects and challenges on {b.domain}"
    # Case-insensitive as the page; deleted and untagged items left out; newest first.
    ids = [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")]
    assert ids == [challenge, project]
    links = {(x.get("rel"), x.get("href")) for x in feed.findall(f"{ATOM}link")}
    assert ("alternate", f"{b.base}/tags/OpenData") in links
    status, _, _ = await fetch(b, "/tags/no-such-tag!/feed.atom")
    assert status == 404


async def test_a_feed_per_sdg(nodes) -> None:
    b = await nodes("hamburg")
    project = await publish(b, "project", PROJECT)  # SDGs 11 and 13
    challenge = await publish(b, "challenge", CHALLENGE)  # SDG 6
    both = await publish(b, "project", {"title": "Water and cities", "sdgs": [6, 11]})
    status, _, body = await fetch(b, "/sdgs/11/feed.atom")
    assert status == 200 and PI in body
    feed = ET.fromstring(body)
    assert feed.findtext(f"{ATOM}id") == f"{b.base}/sdgs/11/feed.atom"
    assert [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")] == [both, project]
    six = ET.fromstring((await fetch(b, "/sdgs/6/feed.atom"))[2])
    assert [e.findtext(f"{ATOM}id") for e in six.findall(f"{ATOM}entry")] == [both, challenge]
    one = ET.fromstring((await fetch(b, "/sdgs/1/feed.atom"))[2])
    assert one.findall(f"{ATOM}entry") == [] and one.findtext(f"{ATOM}updated")
    for wrong in ("0", "18", "x", "011"):
        status, _, _ = await fetch(b, f"/sdgs/{wrong}/feed.atom")
        assert status == 404, wrong
