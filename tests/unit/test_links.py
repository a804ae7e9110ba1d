"""Links from remote documents (§6): http(s) or refused at parse time, and the template filter.

``javascript:``, ``data:`` and ``vbscript:`` links, in any case and behind the whitespace and
control characters browsers strip, in every place a link hides: ids, urls, hrefs of tags and
attachments, icons, an adoption's cf:localProject, a project's id.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import cityfed.web
from cityfed.activitypub.actor import ActorParseError, RemoteActor
from cityfed.activitypub.links import UnsafeLinkError, check_links, is_safe_link
from cityfed.activitypub.vocab import Project, parse_object
from cityfed.activitypub.vocab.cooperation import Adoption
from cityfed.web.filters import safe_url, web_url

BAD = [
    "javascript:alert(1)",
    "javascript://host/%0aalert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "\tjavascript:alert(1)",
    "\x01javascript:alert(1)",
    "java\nscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "DATA:text/html,x",
    "vbscript:msgbox(1)",
    "VBScript:msgbox(1)",
    " https://city.example/x",  # whitespace a browser strips, and we do not clean
    "https://city.example/\x00",
    "https:\\\\evil.example",
    "//evil.example/x",
    "https:///no-host",
    "mailto:x@example.org",
    "",
]
GOOD = ["https://city.example/projects/1", "http://127.0.0.1:8081/a?b=c#d", "HTTPS://City.Example/"]


pytestmark = pytest.mark.usefixtures("no_network")  # tests/conftest.py


@pytest.mark.parametrize("link", BAD)
def test_unsafe_links(link: str) -> None:
    assert not is_safe_link(link)
    assert safe_url(link) == "#" and web_url(link) is None


@pytest.mark.parametrize("link", GOOD)
def test_safe_links(link: str) -> None:
    assert is_safe_link(link) and safe_url(link) == link


def test_safe_url_keeps_paths_of_this_site() -> None:
    assert not is_safe_link("/relative")  # in a remote document: refused
    assert safe_url("/staff/object?id=x") == "/staff/object?id=x"
    assert safe_url("#c1") == "#c1"
    assert safe_url(None) == "#"
    assert safe_url("//evil.example/") == "#"


SCHEMES = st.sampled_from(["javascript", "data", "vbscript", "file", "ftp", "blob"])
STRIPPED = st.text(st.sampled_from([chr(c) for c in range(0x21)] + ["\x7f"]), max_size=3)


@given(
    scheme=SCHEMES,
    upper=st.lists(st.booleans(), min_size=10, max_size=10),
    lead=STRIPPED,
    rest=st.text(max_size=30),
)
def test_no_spelling_of_another_scheme_passes(scheme, upper, lead, rest) -> None:
    spelled = "".join(c.upper() if u else c for c, u in zip(scheme, upper, strict=False))
    link = f"{lead}{spelled}:{rest}"
    assert not is_safe_link(link)
    assert safe_url(link) == "#"
    with pytest.raises(UnsafeLinkError):
        check_links({"type": "Note", "tag": [{"type": "Hashtag", "href": link}]})


@given(st.text(max_size=40))
def test_whatever_passes_is_http(text: str) -> None:
    out = safe_url(text)
    # A fragment, query or path of this page or site, or http(s): never another scheme.
    assert (
        out.startswith(("#", "?"))
        or (out.startswith("/") and not out.startswith("//"))
        or (out.lower().startswith(("http://", "https://")))
    )


def project_doc(**changes: Any) -> dict[str, Any]:
    doc = Project(
        id="https://berlin.example/projects/1",
        attributed_to="https://berlin.example/actors/berlin",
        name="Heat map",
        url="https://berlin.example/p/1",
    ).to_ap()
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    "change",
    [
        {"id": "javascript://berlin.example/%0aalert(1)"},
        {"url": "javascript:alert(1)"},
        {"url": [{"type": "Link", "href": " data:text/html,x"}]},
        {"attributedTo": "VBScript:msgbox(1)"},
        {"tag": [{"type": "Hashtag", "name": "#x", "href": "JAVASCRIPT:alert(1)"}]},
        {"attachment": [{"type": "Document", "url": "\tjavascript:alert(1)"}]},
        {"cf:isBasedOn": "data:,x"},
        {"cf:addresses": ["https://ok.example/c/1", "javascript:alert(1)"]},
        {"replies": {"type": "Collection", "id": "javascript:x"}},
    ],
    ids=lambda c: next(iter(c)),
)
def test_a_project_with_an_unsafe_link_is_refused(change: dict[str, Any]) -> None:
    Project.from_ap(project_doc())  # the unchanged document is fine
    with pytest.raises(ValueError, match="not an http"):
        Project.from_ap(project_doc(**change))
    with pytest.raises(ValueError, match="not an http"):
        parse_object(project_doc(**change))


def test_an_adoption_with_an_unsafe_local_project_is_refused() -> None:
    adoption = Adoption(
        id="https://hamburg.example/adoptions/1",
        attributed_to="https://hamburg.example/actors/hamburg",
        project="https://berlin.example/projects/1",
        local_project="https://hamburg.example/projects/9",
    ).to_ap()
    Adoption.from_ap(adoption)
    with pytest.raises(ValueError, match="cf:localProject"):
        Adoption.from_ap({**adoption, "cf:localProject": "javascript:alert(document.cookie)"})


def actor_doc(**changes: Any) -> dict[str, Any]:
    doc = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "https://berlin.example/actors/berlin",
        "type": "Organization",
        "inbox": "https://berlin.example/actors/berlin/inbox",
        "url": "https://berlin.example/@berlin",
        "icon": {"type": "Image", "url": "https://berlin.example/icon.png"},
    }
    return {**doc, **changes}


@pytest.mark.parametrize(
    "change",
    [
        {"url": "javascript:alert(1)"},
        {"icon": {"type": "Image", "url": "data:image/svg+xml,<svg onload=alert(1)>"}},
        {"endpoints": {"sharedInbox": " javascript:alert(1)"}},
        {"attachment": [{"type": "Link", "href": "vbscript:x"}]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_an_actor_with_an_unsafe_link_is_refused(change: dict[str, Any]) -> None:
    RemoteActor.from_ap(actor_doc())
    with pytest.raises(ActorParseError, match="not an http"):
        RemoteActor.from_ap(actor_doc(**change))


def test_addressing_is_not_a_link() -> None:
    check_links({"to": ["as:Public"], "cc": ["Public"], "@context": ["https://x", {"a": "b:c"}]})


# Links a template may write without the filter: paths this site builds itself.
_LOCAL_LINK = re.compile(
    r"^(object_url\([^()]*\)|tag\|tag_path|links\.\w+|pager\.\w+|pages\.\w+|link\.href|item\.href"
    r"|feed_url|profile_url|view\.(osm_url|license_url|contact_href))$"
)


def test_templates_write_remote_links_only_through_safe_url() -> None:
    templates = Path(cityfed.web.__file__).parent / "templates"
    unfiltered = []
    for path in sorted(templates.rglob("*.html")):
        for expr in re.findall(r'(?:href|src|action)="{{ (.*?) }}"', path.read_text()):
            if not expr.endswith("|safe_url") and not _LOCAL_LINK.match(expr):
                unfiltered.append(f"{path.name}: {expr}")
    assert unfiltered == []
