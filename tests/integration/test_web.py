"""HTML pages, the Atom feed and the open-data exports, on real nodes: every field shown, lang
attributes, alternate links, 410 for deleted, paging, hostile text neutralised."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import orjson
import pytest

from cityfed.actions import projects as project_actions
from cityfed.actions.project_fields import Submission, parse
from cityfed.activitypub.jsonld import DEFAULT_CONTEXT, expand
from cityfed.web.opendata import CSV_COLUMNS
from tests.rig import TestNode, local_actor_row

HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"  # what a browser sends
ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

PROJECT = {
    "title": "Heat-risk map",
    "teaser": "Which streets get dangerously hot, block by block.",
    "description": "# Method\n\nSatellite data + sensors. **Open data.**\n\n"
    "See [the portal](https://data.hamburg.example/heat).",
    "phase": "pilot",
    "tags": ["climate", "OpenData"],
    "language": "en",
    "sdgs": [11, 13],
    "location": {"name": "Altona", "latitude": 53.55, "longitude": 9.93},
    "start_date": "2025-05-01",
    "end_date": "2026-12-31",
    "contact": "innovation@hamburg.example",
    "license": "EUPL-1.2",
    "repository": "https://code.hamburg.example/heatmap",
    "publiccode": "https://code.hamburg.example/heatmap/publiccode.yml",
    "budget": "EUR 120,000",
    "partners": ["University of Hamburg", "DWD"],
    "outcomes": "Two districts changed their *tree planting* plans.",
    "lessons_learned": "Start with the sensors.",
    "translations": {
        "de": {
            "title": "Hitzerisikokarte",
            "teaser": "Welche Straßen gefährlich heiß werden.",
            "description": "## Methode\n\nSatellitendaten.",
        },
        "fr": {"title": "Carte des risques de chaleur"},
    },
}
CHALLENGE = {
    "title": "Flooded underpasses",
    "teaser": "Warn drivers before they drive into water.",
    "description": "We need a *sensor network*.",
    "phase": "open",
    "tags": ["flooding"],
    "sdgs": [6],
    "language": "de",
    "deadline": "2027-03-01",
    "requirements": "Runs on **LoRaWAN**.",
}
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE = {
    "title": HOSTILE_TITLE,
    "teaser": '"><img src=x onerror=alert(2)>',
    "description": "<script>alert(3)</script>\n\n<img src=x onerror=alert(4)>\n\n"
    '[click](javascript:alert(5)) <a href="javascript:alert(6)">raw</a> '
    "[data](data:text/html;base64,PHNjcmlwdD4=) ![pic](javascript:alert(7))",
    "budget": '=HYPERLINK("https://evil.example","x")',
    "contact": "@SUM(1+1)",
    "partners": ["+491234", "-2+3"],
    "tags": ["safe"],
}


# --- helpers ------------------------------------------------------------------------------------


@dataclass
class Page:
    """The parts of an HTML page the tests look at (html.parser, no dependencies)."""

    status: int
    text: str
    headers: Any
    elements: list[tuple[str, dict[str, str | None]]] = field(default_factory=list)

    def all(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())
        ]

    @property
    def lang(self) -> str | None:
        return self.all("html")[0].get("lang")

    def hrefs(self) -> list[str]:
        return [a["href"] or "" for t, a in self.elements if "href" in a]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


async def get_page(node: TestNode, path: str, *, status: int = 200) -> Page:
    async with node.get(path, headers={"Accept": HTML}) as resp:
        text = await resp.text()
        assert resp.status == status, (resp.status, text[:500])
        assert resp.content_type == "text/html"
        collector = _Collector()
        collector.feed(text)
        return Page(resp.status, text, resp.headers, collector.elements)


async def fetch(node: TestNode, path: str, **headers: str) -> tuple[int, Any, bytes]:
    async with node.get(path, headers=headers) as resp:
        return resp.status, resp.headers, await resp.read()


async def publish(node: TestNode, kind: str, body: dict[str, Any], **extra: Any) -> str:
    """Publish through the action (extra vocabulary values such as ``is_based_on``, which the
    API does not take, go straight to the dataclass); returns the AP id."""
    submission = parse(kind, body, partial=False)
    if extra:
        submission = Submission({**submission.values, **extra}, submission.featured)
    row = await project_actions.publish(node.node, await local_actor_row(node), kind, submission)
    return row.ap_id


async def delete(node: TestNode, ap_id: str) -> None:
    await project_actions.delete(node.node, await local_actor_row(node), ap_id)


def assert_one_h1(page: Page) -> None:
    assert len(page.all("h1")) == 1, page.text


# --- the object pages ---------------------------------------------------------------------------


async def test_project_page_shows_every_field(nodes) -> None:
    b = await nodes("hamburg")
    origin = await publish(b, "project", {"title": "Cool roofs", "teaser": "Original."})
    challenge = await publish(b, "challenge", {"title": "Hot summers"})
    ap_id = await publish(b, "project", {**PROJECT, "addresses": [challenge]}, is_based_on=origin)
    page = await get_page(b, ap_id)
    text = page.text
    assert page.lang == "en"
    assert page.headers["Vary"] == "Accept"
    assert_one_h1(page)
    assert '<h1 class="p-name">Heat-risk map</h1>' in text
    assert PROJECT["teaser"] in text
    assert '<dd class="phase">pilot</dd>' in text
    # Markdown: headings shifted below the page's own, emphasis, links marked nofollow.
    assert "<h3>Method</h3>" in text and "<strong>Open data.</strong>" in text
    assert (
        '<a href="https://data.hamburg.example/heat" rel="nofollow noopener">the portal</a>' in text
    )
    assert page.all("a", href="/tags/climate", rel="tag")
    assert page.all("a", href="/tags/OpenData", rel="tag")
    assert "SDG 11: Sustainable Cities and Communities" in text
    assert "SDG 13: Climate Action" in text
    assert page.all("a", href="https://sdgs.un.org/goals/goal13")
    assert "Altona" in text and "openstreetmap.org/?mlat=53.55&amp;mlon=9.93" in text
    assert '<time class="dt-start" datetime="2025-05-01T00:00:00Z">2025-05-01</time>' in text
    assert '<time class="dt-end" datetime="2026-12-31T00:00:00Z">2026-12-31</time>' in text
    assert page.all("time", **{"class": "dt-published"})
    assert page.all("a", href="mailto:innovation@hamburg.example")
    assert page.all("a", href="https://spdx.org/licenses/EUPL-1.2.html", rel="license")
    assert page.all("a", href=PROJECT["repository"])
    assert page.all("a", href=PROJECT["publiccode"])
    assert "EUR 120,000" in text
    assert "<li>University of Hamburg</li>" in text and "<li>DWD</li>" in text
    assert "<em>tree planting</em>" in text and "Start with the sensors." in text
    # Links to other objects show their titles when this node knows them.
    assert f'<a href="{origin}">Cool roofs</a>' in text
    assert f'<a href="{challenge}">Hot summers</a>' in text
    # Author city, alternate AP JSON, the city's feed for autodiscovery.
    assert page.all("a", href=f"{b.base}/@{b.handle}")
    assert "City of Hamburg" in text
    assert page.all("link", rel="alternate", type="application/activity+json", href=ap_id)
    assert page.all(
        "link", rel="alternate", type="application/atom+xml", href=f"{b.actor_id}/feed.atom"
    )
    # Translations: each in a section with its own lang, headed in that language.
    (de,) = page.all("section", lang="de")
    (fr,) = page.all("section", lang="fr")
    assert de and fr
    assert ">Deutsch</h3>" in text and ">français</h3>" in text
    assert "Hitzerisikokarte" in text and "Welche Straßen gefährlich heiß werden." in text
    assert "<h5>Methode</h5>" in text and "Carte des risques de chaleur" in text
    # English page: the interface text needs no lang attribute of its own.
    assert not page.all("dt", lang="en")


async def test_challenge_page_in_another_language(nodes) -> None:
    b = await nodes("hamburg")
    solution = await publish(b, "project", {"title": "Sensor mesh"})
    ap_id = await publish(b, "challenge", CHALLENGE, resolved_by=[solution])
    page = await get_page(b, ap_id)
    text = page.text
    assert page.lang == "de"  # the object's language
    assert_one_h1(page)
    assert ">Flooded underpasses</h1>" in text and CHALLENGE["teaser"] in text
    assert '<time class="deadline" datetime="2027-03-01T00:00:00Z">2027-03-01</time>' in text
    assert "Runs on <strong>LoRaWAN</strong>." in text
    assert "<em>sensor network</em>" in text
    assert "SDG 6: Clean Water and Sanitation" in text
    assert f'<a href="{solution}">Sensor mesh</a>' in text
    assert page.all("a", href="/tags/flooding", rel="tag")
    assert page.all("link", rel="alternate", type="application/activity+json", href=ap_id)
    # English labels on a German page say so, for screen readers.
    assert page.all("dt", lang="en") and page.all("header", lang="en")
    assert page.all("h2", id="description", lang="en")
    # Project-only facts are absent from a challenge.
    assert "License" not in text and "Partners" not in text


async def test_deleted_object_page_is_410(nodes) -> None:
    b = await nodes("hamburg")
    ap_id = await publish(b, "project", PROJECT)
    await delete(b, ap_id)
    page = await get_page(b, ap_id, status=410)
    assert_one_h1(page)
    assert "This project was deleted" in page.text
    assert PROJECT["title"] not in page.text and PROJECT["teaser"] not in page.text
    assert page.all("a", href=f"{b.base}/@{b.handle}")
    assert page.all("link", rel="alternate", type="application/activity+json", href=ap_id)
    status, _, body = await fetch(b, ap_id, Accept="application/activity+json")
    assert status == 410 and orjson.loads(body)["type"] == "Tombstone"


async def test_hostile_text_is_neutralised(nodes) -> None:
    b = await nodes("hamburg")
    ap_id = await publish(b, "project", HOSTILE)
    for path in (ap_id, f"/@{b.handle}", f"{b.actor_id}/projects", "/tags/safe"):
        page = await get_page(b, path)
        assert "<script" not in page.text, path  # we serve no script at all
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text, path
        assert not page.all("img"), path
        assert all(not h.lower().startswith(("javascript:", "data:")) for h in page.hrefs()), path
        assert all("onerror" not in attrs for _, attrs in page.elements), path
    page = await get_page(b, ap_id)
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page.text  # shown as text, not run
    assert "[click](javascript:alert(5))" in page.text  # markdown-it refused the link
    assert '&lt;a href="javascript:alert(6)"&gt;raw&lt;/a&gt;' in page.text
    _, headers, _ = await fetch(b, ap_id, Accept=HTML)
    assert "script-src 'self'" in headers["Content-Security-Policy"]


# --- the city's lists ---------------------------------------------------------------------------


async def test_profile_lists_everything_newest_first_paged_featured_first(nodes) -> None:
    b = await nodes("hamburg")
    ids = [await publish(b, "project", {"title": f"Project {n:02}"}) for n in range(21)]
    ids.append(await publish(b, "challenge", {"title": "Pinned challenge", "featured": True}))
    page = await get_page(b, f"/@{b.handle}")
    assert_one_h1(page)
    text = page.text
    # Featured first, then everything else newest first: 20 a page, nothing shown twice.
    featured_at = text.index('id="featured"')
    assert featured_at < text.index('id="published"')
    assert text.index("Pinned challenge") > featured_at
    listed = page.all("ul", **{"class": "cards", "aria-labelledby": "published"})
    assert listed
    published_part = text[text.index('id="published"') :]
    assert published_part.count('class="card h-entry"') == 20
    assert "Pinned challenge" not in published_part
    assert published_part.index("Project 20") < published_part.index("Project 01")
    assert "Project 00" not in published_part
    assert page.all("a", href=f"/@{b.handle}?page=2", rel="next")
    assert "Page 1 of 2" in text
    for suffix in ("feed.atom", "projects.jsonld", "projects.csv"):
        assert page.all("a", href=f"{b.actor_id}/{suffix}"), suffix
    assert page.all("link", rel="alternate", type="application/activity+json", href=b.actor_id)
    assert page.all(
        "link", rel="alternate", type="application/atom+xml", href=f"{b.actor_id}/feed.atom"
    )
    assert page.all("a", href=f"{b.actor_id}/projects") and ">21</a>" in text

    second = await get_page(b, f"/@{b.handle}?page=2")
    assert 'id="featured"' not in second.text  # featured items head the first page only
    assert second.text.count('class="card h-entry"') == 1
    assert "Project 00" in second.text and "Pinned challenge" not in second.text
    assert second.all("a", href=f"/@{b.handle}", rel="prev")
    # The actor id itself serves the same profile to a browser.
    same = await get_page(b, f"/actors/{b.handle}?page=2")
    assert same.text.count('class="card h-entry"') == 1

    await get_page(b, f"/@{b.handle}?page=3", status=404)
    await get_page(b, f"/@{b.handle}?page=zero", status=400)
    await delete(b, ids[0])
    await get_page(b, f"/@{b.handle}?page=2", status=404)  # the other 20 fit on one page
    assert "Project 00" not in (await get_page(b, f"/@{b.handle}")).text


async def test_project_and_challenge_lists(nodes) -> None:
    b = await nodes("hamburg")
    await publish(b, "project", PROJECT)
    await publish(b, "challenge", CHALLENGE)
    projects = await get_page(b, f"/actors/{b.handle}/projects")
    assert_one_h1(projects)
    assert "Projects of City of Hamburg" in projects.text
    assert PROJECT["title"] in projects.text and CHALLENGE["title"] not in projects.text
    assert projects.all("ul", **{"class": "cards", "aria-labelledby": "list-title"})
    # A card in another language than the page says so.
    challenges = await get_page(b, f"/actors/{b.handle}/challenges")
    assert CHALLENGE["title"] in challenges.text and PROJECT["title"] not in challenges.text
    assert challenges.all("li", lang="de")
    assert challenges.all("link", rel="alternate", type="application/activity+json")
    for _ in range(21):
        await publish(b, "challenge", {"title": "More"})
    second = await get_page(b, f"/actors/{b.handle}/challenges?page=2")
    assert second.text.count('class="card h-entry"') == 2
    assert second.all("link", rel="prev", href=f"/actors/{b.handle}/challenges")


async def test_tag_page(nodes) -> None:
    b = await nodes("hamburg")
    await publish(b, "project", PROJECT)  # tags climate, OpenData
    await publish(b, "challenge", {**CHALLENGE, "tags": ["opendata", "Straßenbahn"]})
    gone = await publish(b, "project", {"title": "Withdrawn", "tags": ["OpenData"]})
    await publish(b, "project", {"title": "Untagged", "description": 'mentions "#OpenData"'})
    await delete(b, gone)
    page = await get_page(b, "/tags/OpenData")
    assert_one_h1(page)
    assert '<h1 id="list-title">#OpenData</h1>' in page.text
    # Hashtags match case-insensitively (as on Mastodon); deleted and untagged items do not.
    assert PROJECT["title"] in page.text and CHALLENGE["title"] in page.text
    assert "Withdrawn" not in page.text and "Untagged" not in page.text
    assert "City of Hamburg" in page.text  # each card names its city
    lower = await get_page(b, "/tags/opendata")
    assert lower.text.count('class="card h-entry"') == 2
    tram = await get_page(b, "/tags/stra%C3%9Fenbahn")
    assert CHALLENGE["title"] in tram.text and PROJECT["title"] not in tram.text
    empty = await get_page(b, "/tags/nothing")
    assert "Nothing here is tagged #nothing yet." in empty.text
    await get_page(b, "/tags/no-such-tag!", status=404)


@pytest.mark.parametrize(
    "suffix", ["", "/projects", "/challenges", "/feed.atom", "/projects.jsonld", "/projects.csv"]
)
async def test_unknown_actor_is_404(nodes, suffix: str) -> None:
    b = await nodes("hamburg")
    status, _, _ = await fetch(b, f"/actors/nobody{suffix}", Accept=HTML)
    assert status == 404


# --- feed and open data -------------------------------------------------------------------------


async def test_atom_feed(nodes) -> None:
    b = await nodes("hamburg")
    project = await publish(b, "project", PROJECT)
    challenge = await publish(b, "challenge", CHALLENGE)
    hostile = await publish(b, "project", {**HOSTILE, "title": HOSTILE_TITLE + " \x0b&"})
    await delete(b, await publish(b, "project", {"title": "Withdrawn"}))
    status, headers, body = await fetch(b, f"/actors/{b.handle}/feed.atom")
    assert status == 200
    assert headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert headers["Access-Control-Allow-Origin"] == "*"
    feed = ET.fromstring(body)  # well-formed XML, or this raises
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == f"{b.actor_id}/feed.atom"
    assert feed.findtext(f"{ATOM}title") == "City of Hamburg: projects and challenges"
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "City of Hamburg"
    assert feed.findtext(f"{ATOM}author/{ATOM}uri") == f"{b.base}/@{b.handle}"
    links = {(link.get("rel"), link.get("href")) for link in feed.findall(f"{ATOM}link")}
    assert ("self", f"{b.actor_id}/feed.atom") in links
    assert ("alternate", f"{b.base}/@{b.handle}") in links
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [hostile, challenge, project]
    updated = [e.findtext(f"{ATOM}updated") for e in entries]
    assert feed.findtext(f"{ATOM}updated") == max(updated)
    by_id = {e.findtext(f"{ATOM}id"): e for e in entries}
    entry = by_id[project]
    assert entry.findtext(f"{ATOM}title") == PROJECT["title"]
    assert entry.findtext(f"{ATOM}summary") == PROJECT["teaser"]
    assert entry.findtext(f"{ATOM}published", "").endswith("Z")
    assert entry.find(f"{ATOM}link").get("href") == project  # type: ignore[union-attr]
    assert entry.get(XML_LANG) == "en" and by_id[challenge].get(XML_LANG) == "de"
    content = entry.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert "<strong>Open data.</strong>" in (content.text or "")
    terms = {c.get("term") for c in entry.findall(f"{ATOM}category")}
    assert terms == {"project", "climate", "OpenData"}
    # Escaping is right: the text round-trips exactly (an XML-illegal character is dropped).
    assert by_id[hostile].findtext(f"{ATOM}title") == HOSTILE_TITLE + " &"
    hostile_html = _Collector()
    hostile_html.feed(by_id[hostile].findtext(f"{ATOM}content") or "")
    assert {tag for tag, _ in hostile_html.elements} <= {"p", "a"}  # no script, no img
    hrefs = [attrs["href"] or "" for _, attrs in hostile_html.elements if "href" in attrs]
    assert all(href.startswith("https:") for href in hrefs)
    # Feed readers poll: a matching ETag is answered 304.
    status, _, body = await fetch(
        b, f"/actors/{b.handle}/feed.atom", **{"If-None-Match": headers["ETag"]}
    )
    assert status == 304 and body == b""


async def test_empty_feed_is_valid(nodes) -> None:
    b = await nodes("hamburg")
    _, _, body = await fetch(b, f"/actors/{b.handle}/feed.atom")
    feed = ET.fromstring(body)
    assert feed.findall(f"{ATOM}entry") == [] and feed.findtext(f"{ATOM}updated")


async def test_jsonld_export(nodes) -> None:
    b = await nodes("hamburg")
    project = await publish(b, "project", PROJECT)
    challenge = await publish(b, "challenge", CHALLENGE)
    await delete(b, await publish(b, "project", {"title": "Withdrawn"}))
    status, headers, body = await fetch(b, f"/actors/{b.handle}/projects.jsonld")
    assert status == 200
    assert headers["Content-Type"] == "application/ld+json; charset=utf-8"
    assert headers["Access-Control-Allow-Origin"] == "*"
    doc = orjson.loads(body)
    assert doc["@context"] == DEFAULT_CONTEXT
    assert doc["type"] == "OrderedCollection" and doc["totalItems"] == 2
    assert doc["attributedTo"] == b.actor_id
    items = doc["orderedItems"]
    assert [item["id"] for item in items] == [challenge, project]
    assert all("@context" not in item for item in items)
    # Each item is the full AP document, the same one served at its id, but for what changes
    # without an edit (replies, likes, shares), which the export names by link only.
    served = await b.get_json(project)
    live = ("@context", "replies", "likes", "shares")
    assert {k: v for k, v in items[1].items() if k != "replies"} == {
        k: v for k, v in served.items() if k not in live
    }
    assert items[1]["replies"] == served["replies"]["id"]
    assert items[1]["cf:repository"] == PROJECT["repository"]
    # And the whole is JSON-LD that a processor reads (offline, bundled contexts).
    expanded = expand(doc)
    members = expanded[0]["https://www.w3.org/ns/activitystreams#items"][0]["@list"]
    assert [m["@id"] for m in members] == [challenge, project]


async def test_csv_export(nodes) -> None:
    b = await nodes("hamburg")
    project = await publish(b, "project", PROJECT)
    await publish(b, "challenge", CHALLENGE)
    hostile = await publish(b, "project", HOSTILE)
    status, headers, body = await fetch(b, f"/actors/{b.handle}/projects.csv")
    assert status == 200
    assert headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
    assert headers["Access-Control-Allow-Origin"] == "*"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [row["type"] for row in rows] == ["Project", "Challenge", "Project"]
    by_id = {row["id"]: row for row in rows}
    row = by_id[project]
    assert row == {
        **row,
        "title": "Heat-risk map",
        "teaser": PROJECT["teaser"],
        "phase": "pilot",
        "tags": "climate; OpenData",
        "sdgs": "11; 13",
        "location": "Altona (53.55, 9.93)",
        "start_date": "2025-05-01",
        "end_date": "2026-12-31",
        "license": "EUPL-1.2",
        "repository": PROJECT["repository"],
        "publiccode": PROJECT["publiccode"],
        "contact": PROJECT["contact"],
        "budget": "EUR 120,000",
        "partners": "University of Hamburg; DWD",
        "url": project,
        "updated": "",
    }
    assert row["published"].endswith("Z")
    evil = by_id[hostile]
    assert evil["budget"] == "'" + HOSTILE["budget"]
    assert evil["contact"] == "'@SUM(1+1)"
    assert evil["partners"] == "'+491234; -2+3"
    assert evil["title"] == HOSTILE_TITLE  # not a formula: left as it is
    for cell in (v for r in rows for v in r.values()):
        assert not cell.startswith(("=", "+", "-", "@")), cell
