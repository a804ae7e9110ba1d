"""With the staff pages in German, every message that has a German translation is shown in
German: no English text of the catalog is left on a page (issue 19)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import quote

from cityfed.web.staff import i18n
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.integration.test_staff_auth import ADMIN_PAGES, EDITOR_PAGES
from tests.rig import settle

fast_hashing, staff = shared.fast_hashing, shared.staff
_PLACEHOLDER = re.compile(r"\{[^}]*\}")


class Texts(HTMLParser):
    """The page's text pieces (and titles, labels in attributes) outside lang="en" parts."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.english: list[str] = []  # tags opened with lang="en" (content from a city)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        self.english.append(tag if values.get("lang") not in (None, "de") else "")
        for name in ("title", "aria-label", "placeholder", "value"):
            if values.get(name) and not any(self.english):
                self.texts.append(values[name] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("br", "img", "input", "meta", "link", "hr"):
            return
        while self.english:
            if self.english.pop() in (tag, ""):
                break

    def handle_data(self, data: str) -> None:
        if data.strip() and not any(self.english):
            self.texts.append(data.strip())


def untranslated(html: str) -> set[str]:
    """Catalog messages (without placeholders) that appear in English on the page."""
    de = i18n.catalog("de")
    english = {key for key, value in de.items() if value != key and not _PLACEHOLDER.search(key)}
    parser = Texts()
    parser.feed(html)
    found = set()
    for text in parser.texts:
        for piece in re.split(r"\s*[:|]\s*", text):
            if piece in english and len(piece) > 3:
                found.add(piece)
    return found


async def test_german_pages_use_every_german_translation(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await b.api("POST", "/follows", json={"account": a.account}, status=201)
    await settle(a, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)
    challenge = await b.api("POST", "/challenges", json=CHALLENGE, status=201)
    own = await a.api("POST", "/projects", json={"title": "Kiezblocks"}, status=201)
    await settle(a, b)
    admin = await staff(a, "admin")
    await admin.get(f"/staff/object?id={quote(project['id'])}")
    await admin.post("/staff/comments", {"in_reply_to": project["id"], "content": "Hello!"})
    pages = [
        *EDITOR_PAGES,
        *ADMIN_PAGES,
        f"/staff/object?id={quote(project['id'])}",
        f"/staff/object?id={quote(challenge['id'])}",
        f"/staff/object?id={quote(own['id'])}",
        f"/staff/items/edit?id={quote(own['id'])}",
        f"/staff/items/delete?id={quote(own['id'])}",
        f"/staff/adopt?project={quote(project['id'])}",
    ]
    left: dict[str, set[str]] = {}
    for path in pages:
        separator = "&" if "?" in path else "?"
        page = await admin.get(f"{path}{separator}lang=de")
        assert page.status == 200, path
        if found := untranslated(page.text):
            left[path] = found
    assert left == {}, json.dumps({k: sorted(v) for k, v in left.items()}, indent=1)


async def test_a_partners_german_title_is_shown_on_german_pages(nodes, staff) -> None:
    a, b = await nodes("berlin"), await nodes("hamburg")
    await a.api("POST", "/follows", json={"account": b.account}, status=201)
    await settle(a, b)
    project = await b.api("POST", "/projects", json=HEAT_MAP, status=201)  # English, with German
    await settle(a, b)
    admin = await staff(a, "editor")
    german = await admin.get("/staff/?lang=de")
    assert ">Hitzerisikokarte</a>" in german.text and "Welche Straßen heiß werden." in german.text
    assert "Heat-risk map" not in german.text
    page = await admin.get(f"/staff/object?id={quote(project['id'])}&lang=de")
    assert "<h1>Hitzerisikokarte</h1>" in page.text
    english = await admin.get("/staff/?lang=en")
    assert ">Heat-risk map</a>" in english.text and "Hitzerisikokarte" not in english.text
