"""The cooperation parts of object pages, on real nodes: the discussion (nested, moderated,
sanitised, with authors and languages), who adopted a project and the way back to its origin,
and the accepted solutions of a challenge (never the pending or rejected offers)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import select

from cityfed.models.tables import Actor, Object
from cityfed.models.types import utcnow
from cityfed.web import threads
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.integration.test_web import Page, assert_one_h1, get_page
from tests.rig import TestNode, local_actor_row, settle, signed_post

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
SENSORS = {"title": "Flood sensors", "teaser": "LoRaWAN water level sensors.", "phase": "pilot"}
SIRENS = {"title": "Street sirens", "teaser": "Loud.", "phase": "idea"}


# --- helpers ------------------------------------------------------------------------------------


@dataclass
class Shown:
    """One comment as the page shows it."""

    anchor: str
    depth: int  # 1 = top level
    parent: str | None  # the anchor of the comment it is nested under
    lang: str | None = None
    author_href: str | None = None
    text: str = ""


class _Thread(HTMLParser):
    """Reads the discussion's nested lists back into (comment, depth, parent) records."""

    def __init__(self) -> None:
        super().__init__()
        self.comments: list[Shown] = []
        self._stack: list[tuple[str, Shown | None]] = []

    def _current(self) -> Shown | None:
        return next((shown for _, shown in reversed(self._stack) if shown is not None), None)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("br", "img", "meta", "link", "input", "hr"):
            return
        shown = None
        if tag == "li" and (found.get("id") or "").startswith("comment-"):
            parent = self._current()
            depth = sum(1 for t, s in self._stack if t == "li" and s is not None) + 1
            shown = Shown(found["id"] or "", depth, parent.anchor if parent else None)
            self.comments.append(shown)
        current = self._current()
        if tag == "article" and current is not None and "comment" in (found.get("class") or ""):
            current.lang = found.get("lang")
        if tag == "a" and current is not None and "p-author" in (found.get("class") or ""):
            current.author_href = found.get("href")
        self._stack.append((tag, shown))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data: str) -> None:
        current = self._current()
        if current is not None:
            current.text += data


def thread_of(page: Page) -> list[Shown]:
    parser = _Thread()
    start = page.text.index('id="discussion"')
    parser.feed(page.text[start:])
    return parser.comments


def by_text(shown: list[Shown], needle: str) -> Shown:
    """The comment whose own text (without its replies) contains ``needle``."""
    for item in shown:
        if needle in item.text:
            return item
    raise AssertionError(f"{needle!r} is not on the page: {[s.text for s in shown]}")


def section(page: Page, heading_id: str) -> str:
    """The HTML of the page's <section> headed by ``heading_id`` ("" when there is none)."""
    found = re.search(
        rf'<section aria-labelledby="{heading_id}".*?</section>', page.text, flags=re.DOTALL
    )
    return found.group(0) if found else ""


async def comment(n: TestNode, in_reply_to: str, text: str) -> str:
    created = await n.api(
        "POST", "/comments", status=201, json={"in_reply_to": in_reply_to, "content": text}
    )
    return created["id"]


def raw_note(author: TestNode, in_reply_to: str, content: str, **extra: Any) -> dict[str, Any]:
    """A Create{Note} as another server might send it, not built by our own actions."""
    note_id = f"{author.base}/comments/{uuid.uuid4()}"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{author.base}/activities/{uuid.uuid4()}",
        "type": "Create",
        "actor": author.actor_id,
        "to": [PUBLIC],
        "object": {
            "id": note_id,
            "type": "Note",
            "attributedTo": author.actor_id,
            "inReplyTo": in_reply_to,
            "to": [PUBLIC],
            "content": content,
            **extra,
        },
    }


async def three_cities(nodes) -> tuple[TestNode, TestNode, TestNode, str]:
    """A (Berlin) and C (Barcelona) follow B (Hamburg), which has published a project."""
    a, b, c = await nodes("berlin"), await nodes("hamburg"), await nodes("barcelona")
    for follower in (a, c):
        await follower.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b, c)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await settle(a, b, c)
    return a, b, c, project["id"]


# --- the discussion -----------------------------------------------------------------------------


async def test_discussion_nests_replies_with_their_authors(nodes) -> None:
    a, b, c, project = await three_cities(nodes)
    first = await comment(a, project, "How much did it cost?")
    await settle(a, b, c)
    answer = await comment(b, first, "EUR 120k, sensors included.")
    await settle(a, b, c)
    await comment(c, answer, "Which sensors?")
    await settle(a, b, c)
    # A reply from a Mastodon-like server, in German, saying so in contentMap.
    german = "<p>Wir wollen das auch!</p>"
    note = raw_note(a, project, german, contentMap={"de": german})
    assert (await signed_post(a, b, "/inbox", note))[0] == 202
    await settle(a, b, c)

    page = await get_page(b, project)
    assert_one_h1(page)
    assert page.all("h2", id="discussion")
    shown = thread_of(page)
    assert len(shown) == 4
    top, reply, deeper, wir = (
        by_text(shown, text)
        for text in ("How much", "EUR 120k", "Which sensors?", "Wir wollen das auch!")
    )
    # Oldest first at each level; each reply nested under what it answers.
    assert [s.anchor for s in shown if s.depth == 1] == [top.anchor, wir.anchor]
    assert (reply.depth, reply.parent) == (2, top.anchor)
    assert (deeper.depth, deeper.parent) == (3, reply.anchor)
    # Author name, account and a link to the author's profile, on the author's own node.
    assert top.author_href == f"{a.base}/@{a.handle}" and "City of Berlin" in top.text
    assert f"@{a.handle}@{a.domain}" in top.text
    assert reply.author_href == f"{b.base}/@{b.handle}" and "City of Hamburg" in reply.text
    assert deeper.author_href == f"{c.base}/@{c.handle}" and "City of Barcelona" in deeper.text
    # The language where the sender said it: a cityfed comment always says it (its contentMap,
    # "en" unless given, like our posts).
    assert wir.lang == "de" and top.lang == "en"
    # The labels of a German comment stay marked as English for screen readers.
    assert re.search(r'lang="de">\s*<p class="meta" lang="en">', page.text)
    # Dates as <time> elements; the comment links to itself.
    assert len(page.all("time", **{"class": "dt-published"})) == 1 + 4  # the project's + 4
    assert page.all("a", href=first, **{"class": "u-url"})


async def test_moderated_removed_deleted_and_blocked_comments_are_not_shown(nodes) -> None:
    a, b, c, project = await three_cities(nodes)
    await b.api("PUT", "/admin/moderation", json={"moderate_comments": True}, status=200)
    held = await comment(a, project, "Please review me")
    spam = await comment(a, project, "Buy cheap stuff")
    await settle(a, b, c)
    page = await get_page(b, project)
    assert thread_of(page) == [] and "No comments yet." in page.text
    assert "Please review me" not in page.text and "Buy cheap stuff" not in page.text

    await b.api("POST", "/admin/comments/approve", json={"id": held}, status=200)
    await b.api("POST", "/admin/comments/remove", json={"id": spam}, status=200)
    await b.api("PUT", "/admin/moderation", json={"moderate_comments": False}, status=200)
    gone = await comment(c, project, "I will take this back")
    await settle(a, b, c)
    page = await get_page(b, project)
    assert len(thread_of(page)) == 2
    assert "Please review me" in page.text and "I will take this back" in page.text
    assert "Buy cheap stuff" not in page.text

    await c.api("DELETE", f"/comments/{gone.rsplit('/', 1)[-1]}", status=204)
    await settle(a, b, c)
    page = await get_page(b, project)
    assert "I will take this back" not in page.text and "Please review me" in page.text

    # A block hides what the blocked domain said, even what was published before.
    await b.api("PUT", f"/admin/peers/{a.domain}", json={"policy": "blocked"}, status=200)
    page = await get_page(b, project)
    assert "Please review me" not in page.text and thread_of(page) == []


async def test_hostile_comment_html_is_neutralised_on_the_page(nodes) -> None:
    a, b, _c, project = await three_cities(nodes)
    hostile = (
        '<p onmouseover="steal()">Hi<script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><img src="https://evil.example/t.gif">'
        '<iframe src="https://evil.example"></iframe><b class="evil">bold</b></p>'
        '<h1>Shouting</h1><style>body{display:none}</style><a href="https://ok.example/">ok</a>'
    )
    assert (await signed_post(a, b, "/inbox", raw_note(a, project, hostile)))[0] == 202
    await settle(a, b)
    # Something that skipped the sanitiser on its way into the database (an old row, an
    # import, a bug elsewhere) is cleaned when the page is made.
    async with b.node.db.transaction() as session:
        sender = await session.scalar(select(Actor.id).where(Actor.ap_id == a.actor_id))
        session.add(
            Object(
                ap_id=f"{a.base}/comments/{uuid.uuid4()}",
                type="Note",
                actor_id=sender,
                document={
                    "type": "Note",
                    "content": '<p>raw</p><script>alert("raw")</script>'
                    '<a href="javascript:alert(3)" onclick="x()">click</a>',
                },
                in_reply_to=project,
                context=project,
                state="published",
            )
        )
    page = await get_page(b, project)
    discussion = section(page, "discussion")
    assert "Hi" in discussion and "<b>bold</b>" in discussion and ">raw</p>" in discussion
    for bad in ("<script", "alert", "onmouseover", "onclick", "javascript:", "<img", "<iframe"):
        assert bad not in page.text, bad
    assert "evil" not in page.text and "<style" not in page.text
    # A comment's heading would be a second <h1>: it becomes bold text.
    assert_one_h1(page)
    assert "<p><strong>Shouting</strong></p>" in discussion
    assert page.all("a", href="https://ok.example/", rel="nofollow noopener noreferrer")
    _, headers = await _html_headers(b, project)
    assert "script-src 'self'" in headers["Content-Security-Policy"]


async def _html_headers(n: TestNode, path: str) -> tuple[int, Any]:
    async with n.get(path, headers={"Accept": "text/html"}) as resp:
        return resp.status, resp.headers


# --- adoptions ----------------------------------------------------------------------------------


async def test_adoption_shows_on_the_origin_and_the_adopter_links_back(nodes) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    # The origin follows the adopter, so it holds a copy of the adopter's project and its title.
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    origin = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    before = await get_page(b, origin["id"])
    assert not section(before, "adoptions")  # nothing to show yet: no empty section
    created = await a.api(
        "POST",
        "/adoptions",
        json={"project": origin["id"], "status": "piloting", "title": "Berlin heat map"},
        status=201,
    )
    await settle(a, b)
    uid = created["id"].rsplit("/", 1)[-1]
    await a.api(
        "PATCH",
        f"/adoptions/{uid}",
        json={
            "status": "operational",
            "outcomes": "All *twelve* districts use it.",
            "lessons_learned": "# Start small\n\nOne district first.",
        },
        status=200,
    )
    await settle(a, b)

    page = await get_page(b, origin["id"])
    assert_one_h1(page)
    adoptions = section(page, "adoptions")
    assert ">Adopted by</h2>" in adoptions
    assert f'<h3><a href="{a.base}/@{a.handle}">City of Berlin</a></h3>' in adoptions
    assert '<dd class="status">operational</dd>' in adoptions
    assert f'<a href="{created["project"]}">Berlin heat map</a>' in adoptions
    assert "<em>twelve</em>" in adoptions and "One district first." in adoptions
    assert "<h5>Start small</h5>" in adoptions  # under the adoption's <h4>
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{4}-\d\d-\d\d</time>', adoptions)

    # The adopter's own project names its origin (and whose it is) before anything else.
    own = await get_page(a, created["project"])
    origin_line = re.search(r'<p class="origin">(.*?)</p>', own.text, flags=re.DOTALL)
    assert origin_line is not None
    line = origin_line.group(1)
    assert f'<a href="{origin["id"]}">{HEAT_MAP["title"]}</a>' in line
    assert f'by <a href="{b.base}/@{b.handle}">City of Hamburg</a>' in line
    assert '<strong class="status">operational</strong>' in line
    based_on = re.search(r'<dd class="based-on">(.*?)</dd>', own.text)
    assert based_on is not None and f">{HEAT_MAP['title']}</a>" in based_on.group(1)
    assert not section(own, "adoptions")


# --- solutions ----------------------------------------------------------------------------------


async def test_accepted_solution_shows_on_the_challenge_page_a_pending_one_does_not(nodes) -> None:
    c, b = await nodes("copenhagen"), await nodes("hamburg")
    # B follows C, so it holds copies of C's projects (their titles).
    await b.api("POST", "/follows", json={"account": c.account}, status=201)
    await settle(c, b)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    sensors = await c.api("POST", "/projects", json=SENSORS, status=201)
    sirens = await c.api("POST", "/projects", json=SIRENS, status=201)
    await settle(c, b)
    offers = {}
    for project in (sensors, sirens):
        body = {
            "challenge": challenge["id"],
            "project": project["id"],
            "content": f"Our {project['id'][-6:]} <works>.",
        }
        offers[project["id"]] = await c.api("POST", "/offers", json=body, status=201)
        await settle(c, b)

    page = await get_page(b, challenge["id"])
    assert not section(page, "solutions")  # both pending: nothing public yet
    assert SENSORS["title"] not in page.text and SIRENS["title"] not in page.text

    accepted = offers[sensors["id"]]["id"]
    await b.api("POST", "/offers/accept", json={"offer": accepted, "solved": True}, status=200)
    await settle(c, b)
    page = await get_page(b, challenge["id"])
    assert_one_h1(page)
    solutions = section(page, "solutions")
    assert ">Solutions</h2>" in solutions
    assert f'<h3><a href="{sensors["id"]}">{SENSORS["title"]}</a></h3>' in solutions
    assert f'by <a href="{c.base}/@{c.handle}">City of Copenhagen</a>' in solutions
    assert "resolves this challenge" in solutions
    assert "&lt;works&gt;." in solutions  # the rationale, as text
    assert SIRENS["title"] not in page.text  # still pending
    assert sirens["id"] not in page.text

    await b.api("POST", "/offers/reject", json={"offer": offers[sirens["id"]]["id"]}, status=200)
    await settle(c, b)
    page = await get_page(b, challenge["id"])
    assert SIRENS["title"] not in page.text and sirens["id"] not in page.text

    # The offering city's project page names the challenge it was chosen for, and whose it is.
    own = await get_page(c, sensors["id"])
    chosen = section(own, "solution-for")
    assert f'<a href="{challenge["id"]}">{CHALLENGE["title"]}</a>' in chosen
    assert f'by <a href="{b.base}/@{b.handle}">City of Hamburg</a>' in chosen
    assert not section(await get_page(c, sirens["id"]), "solution-for")


# --- the shaping, without nodes -----------------------------------------------------------------


def _actor(handle: str, actor_id: int) -> Actor:
    return Actor(
        id=actor_id,
        ap_id=f"https://{handle}.example/actors/{handle}",
        handle=handle,
        domain=f"{handle}.example",
        name=f"City of {handle.title()}",
        url=f"https://{handle}.example/@{handle}",
    )


def test_deep_threads_go_flat_at_the_maximum_depth() -> None:
    """A chain of replies nests down to MAX_DEPTH; deeper ones follow flat, saying whom they
    answer; a reply to a comment that is not shown stands at the top level."""
    root = "https://hamburg.example/projects/1"
    author = _actor("berlin", 1)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    rows: list[tuple[Object, Actor]] = []
    parent = root
    for number in range(8):
        ap_id = f"https://berlin.example/comments/{number}"
        rows.append(
            (
                Object(
                    ap_id=ap_id,
                    in_reply_to=parent,
                    context=root,
                    published=start + timedelta(minutes=number),
                    document={"content": f"<p>level {number + 1}</p>"},
                ),
                author,
            )
        )
        parent = ap_id
    orphan = Object(
        ap_id="https://berlin.example/comments/orphan",
        in_reply_to="https://berlin.example/comments/held",
        context=root,
        published=utcnow(),
        document={"content": "<p>orphan</p>"},
    )
    rows.append((orphan, author))

    shown = threads.discussion(root, rows)
    assert shown.count == 9 and not shown.truncated
    assert len(shown.comments) == 2 and "orphan" in shown.comments[1].html
    level = shown.comments[0]
    for depth in range(1, threads.MAX_DEPTH - 1):
        assert f"level {depth}<" in level.html and len(level.children) == 1
        level = level.children[0]
    # Level 4 holds level 5, the deepest nested list; levels 6..8 follow level 5 in that same
    # list, in order, each saying whom it answers.
    flat = level.children
    assert [str(c.html) for c in flat] == [f"<p>level {n}</p>" for n in range(5, 9)]
    assert all(not c.children for c in flat)
    assert flat[0].reply_to is None
    assert [c.reply_to.anchor for c in flat[1:] if c.reply_to] == [c.anchor for c in flat[:-1]]

    limited = threads.discussion(root, rows, limit=3)
    assert limited.truncated and limited.count == 3


def test_comment_language_and_html() -> None:
    assert threads.comment_language({"content": "x", "contentMap": {"en": "x"}}) == "en"
    assert threads.comment_language({"content": "x"}) is None
    assert threads.comment_language({"content": "b", "contentMap": {"de": "a", "fr": "b"}}) == "fr"
    assert threads.comment_language({"contentMap": {"und": "x"}}) is None
    assert threads.comment_language({"contentMap": {"<bad>": "x"}}) is None
    html = threads.comment_html('<h2 class="x">T</h2><p>a<script>b</script></p>')
    assert str(html) == "<p><strong>T</strong></p><p>a</p>"


async def test_comment_from_our_own_city_is_shown_too(nodes) -> None:
    b = await nodes("hamburg")
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    await comment(b, project["id"], "Update: <b>phase two</b> starts in May.")
    page = await get_page(b, project["id"])
    (shown,) = thread_of(page)
    assert "phase two" in shown.text and shown.author_href == f"{b.base}/@{b.handle}"
    assert "&lt;b&gt;phase two&lt;/b&gt;" in page.text  # typed text stays text
    assert (await local_actor_row(b)).name == "City of Hamburg"
