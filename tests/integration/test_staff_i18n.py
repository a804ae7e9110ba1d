"""Staff pages in English and German, and the structure accessibility rests on (checked without
a browser): a language on every page, a label for every field, unique ids, one h1, CSRF on every
POST form. tests/browser/ checks the rendered pages with axe-core."""

from __future__ import annotations

import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

from babel.messages.pofile import read_po

from cityfed.actions.errors import TOO_LONG, FieldError
from cityfed.web.staff import i18n
from tests.integration import test_staff_auth as shared
from tests.integration.test_projects import CHALLENGE, HEAT_MAP
from tests.integration.test_staff_auth import ADMIN_PAGES, EDITOR_PAGES
from tests.rig import settle

# The staff fixtures (test_staff_auth.py), shared with this module.
fast_hashing, staff = shared.fast_hashing, shared.staff

_PLACEHOLDER = re.compile(r"\{[^}]*\}")


def _po(path: Path) -> dict[str, str]:
    with path.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and isinstance(m.id, str)}


def test_catalogs_list_every_message_and_german_translates_each() -> None:
    template = _po(i18n.TEMPLATE)
    de = _po(i18n.po_path("de"))
    messages = set(template)
    assert messages == set(i18n.extract(i18n.sources())), (
        "messages.pot is out of date: extract it again (cityfed.web.staff.i18n.extract(sources()))"
    )
    assert set(de) == messages and set(_po(i18n.po_path("en"))) == messages
    for key in messages:
        assert de[key].strip() and de[key] != "", key
        assert sorted(_PLACEHOLDER.findall(de[key])) == sorted(_PLACEHOLDER.findall(key)), key


def test_language_choice() -> None:
    assert i18n.choose(None, None, "de-AT,de;q=0.9,en;q=0.8") == "de"
    assert i18n.choose(None, None, "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7") == "en"
    assert i18n.choose(None, None, "fr") == "en"
    assert i18n.choose(None, "de", "en") == "de"
    assert i18n.choose("en", "de", "de") == "en"
    assert i18n.choose("xx", None, None) == "en"
    german = i18n.Translator("de")
    assert german.problem("this field is required") == ("dieses Feld ist erforderlich", None)
    # An action's refusal is translated by its template, its parameters filled in after.
    refusal = FieldError("teaser", TOO_LONG, limit=300)
    assert german.problem(refusal) == ("höchstens 300 Zeichen", None)
    assert i18n.Translator("en").problem(refusal) == ("at most 300 characters", None)
    assert german.problem("cannot find x@y: gone") == ("cannot find x@y: gone", "en")


async def test_accept_language_and_the_switch(nodes, staff) -> None:
    a = await nodes("berlin")
    editor = await staff(a, "editor")
    page = await editor.get("/staff/", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert '<html lang="de">' in page.text and "Partner-Zeitleiste" in page.text
    assert page.headers["Content-Language"] == "de"
    assert 'lang="en" hreflang="en"' in page.text  # the switch names each language in itself
    page = await editor.get("/staff/?lang=de")
    assert "Partner-Zeitleiste" in page.text and editor.cookie("cityfed_lang") == "de"
    assert "Partner-Zeitleiste" in (await editor.get("/staff/items")).text  # the cookie holds
    page = await editor.get("/staff/items?lang=en")
    assert '<html lang="en">' in page.text and "Our projects and challenges" in page.text
    assert "Partner timeline" in (await editor.get("/staff/")).text


async def test_action_refusals_in_german(nodes, staff) -> None:
    a = await nodes("berlin")
    admin = await staff(a, "admin")
    await admin.get("/staff/items/new?kind=project&lang=de")
    page = await admin.post("/staff/items/new", {"kind": "project", "title": "", "action": "save"})
    assert page.status == 422
    assert "dieses Feld ist erforderlich" in page.text
    assert "Bitte korrigieren Sie diese Felder" in page.text
    await admin.get("/staff/follows")
    page = await admin.post("/staff/follows", {"account": "nobody@127.0.0.1:9"})
    # An action's message with no translation stays English, and says so for screen readers.
    assert re.search(r'<p class="error" id="f-account-error" lang="en">', page.text)


class Structure(HTMLParser):
    """What the accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.ids: Counter[str] = Counter()
        self.labels: set[str] = set()
        self.fields: list[tuple[str, dict[str, str | None]]] = []
        self.h1 = 0
        self.forms: list[dict[str, str | None]] = []
        self.csrf_in_form: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        if tag == "html":
            self.lang = attr.get("lang")
        if attr.get("id"):
            self.ids[attr["id"] or ""] += 1
        if tag == "label" and attr.get("for"):
            self.labels.add(attr["for"] or "")
        if tag in ("input", "select", "textarea") and attr.get("type") != "hidden":
            self.fields.append((tag, attr))
        if tag == "h1":
            self.h1 += 1
        if tag == "form":
            self.forms.append(attr)
            self.csrf_in_form.append(False)
        if tag == "input" and attr.get("name") == "csrf" and self.csrf_in_form:
            self.csrf_in_form[-1] = True


def check_structure(path: str, html: str, lang: str) -> None:
    page = Structure()
    page.feed(html)
    assert page.lang == lang, path
    assert page.h1 == 1, path
    duplicates = [name for name, count in page.ids.items() if count > 1]
    assert not duplicates, (path, duplicates)
    for tag, attr in page.fields:
        named = attr.get("id") in page.labels or attr.get("aria-label")
        assert named, (path, tag, attr)
    for form, has_csrf in zip(page.forms, page.csrf_in_form, strict=True):
        if (form.get("method") or "get").lower() == "post":
            assert has_csrf, (path, form)


async def test_every_page_has_a_language_labels_and_csrf(nodes, staff) -> None:
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
        "/staff/admin/reports?state=all&direction=sent",
    ]
    for lang in ("en", "de"):
        for path in pages:
            separator = "&" if "?" in path else "?"
            page = await admin.get(f"{path}{separator}lang={lang}")
            assert page.status == 200, path
            check_structure(path, page.text, lang)
    signed_out = await staff(a, "editor", login=False)
    login = await signed_out.get("/staff/login?lang=de")
    check_structure("/staff/login", login.text, "de")
    assert "Anmelden" in login.text
