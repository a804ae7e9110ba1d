"""The profile's pure parts: the bio's Markdown and its sanitising, field values as Mastodon
formats them, what counts as a verifiable link, the limits, and finding rel=me links."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub.actor import LocalActorDocument, PublicKeyInfo, RemoteActor
from cityfed.activitypub.profile import (
    Field,
    ImageRef,
    ProfileError,
    check_display_name,
    check_fields,
    field_value_html,
    image_url,
    parse_field,
    render_bio,
    verifiable,
)
from cityfed.activitypub.sanitize import TAGS
from cityfed.federation.relme import links_back, rel_me_links
from cityfed.models.types import utcnow

pytestmark = pytest.mark.usefixtures("no_network")


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(html)
    return parser.found


def test_bio_markdown_is_rendered_to_mastodons_tags() -> None:
    html = render_bio("Smart **city**, *open* data.\n\n- one\n- two\n\n[Portal](https://x.example)")
    assert "<strong>city</strong>" in html and "<em>open</em>" in html
    assert "<ul>" in html and "<li>one</li>" in html
    assert '<a href="https://x.example" rel="nofollow noopener noreferrer">Portal</a>' in html
    assert render_bio("") == "" and render_bio("   \n") == "" and render_bio(None) == ""


def test_bio_keeps_no_picture_and_no_markup_of_its_own() -> None:
    html = render_bio('![tracker](https://t.example/p.gif) <b onclick="x()">hi</b>')
    assert "<img" not in html
    assert (
        '<a href="https://t.example/p.gif" rel="nofollow noopener noreferrer">tracker</a>' in html
    )
    assert "&lt;b onclick" in html  # written markup stays text


@given(st.text(max_size=300))
def test_any_bio_yields_only_allowed_tags_and_safe_links(source: str) -> None:
    for tag, attrs in elements(render_bio(source)):
        assert tag in TAGS
        assert not any(name.startswith("on") or name == "style" for name in attrs)
        href = attrs.get("href")
        assert href is None or href.split(":", 1)[0].lower() in ("http", "https"), href


def test_a_link_value_is_formatted_as_mastodon_does() -> None:
    assert field_value_html("https://www.berlin.example/open") == (
        '<a href="https://www.berlin.example/open" target="_blank" '
        'rel="nofollow noopener noreferrer me" translate="no">'
        '<span class="invisible">https://www.</span><span class="">berlin.example/open</span>'
        '<span class="invisible"></span></a>'
    )
    assert field_value_html('<b>"x"</b> & y') == '&lt;b&gt;"x"&lt;/b&gt; &amp; y'
    assert field_value_html("javascript:alert(1)") == "javascript:alert(1)"
    assert field_value_html("https://a.example and more") == "https://a.example and more"


def test_only_https_links_are_verifiable_unless_the_node_runs_http() -> None:
    assert verifiable("https://berlin.example/") == "https://berlin.example/"
    assert verifiable("http://berlin.example/") is None
    assert verifiable("http://127.0.0.1:9/", allow_http=True) == "http://127.0.0.1:9/"
    for value in (
        "mailto:a@b.example",
        "https://user:pw@b.example/",
        "ftp://b.example",
        "b.example",
    ):
        assert verifiable(value, allow_http=True) is None, value


def test_field_limits() -> None:
    assert check_fields([(" Web  site ", " https://a.example ")]) == [
        Field("Web site", "https://a.example")
    ]
    with pytest.raises(ProfileError, match="at most 8"):
        check_fields([("n", "v")] * 9)
    with pytest.raises(ProfileError, match="both a name and a value"):
        check_fields([("n", " ")])
    with pytest.raises(ProfileError, match="255"):
        check_fields([("n", "v" * 256)])
    with pytest.raises(ProfileError, match="one line"):
        check_fields([("n", "a\nb")])
    with pytest.raises(ProfileError):
        check_display_name(" \t ")
    assert parse_field("Open data=https://a.example/?x=1") == (
        "Open data",
        "https://a.example/?x=1",
    )
    with pytest.raises(ProfileError, match="Name=value"):
        parse_field("no sign")


def test_rel_me_links_as_mastodon_finds_them() -> None:
    page = """<html><head><link rel="me" href="https://c.example/@berlin">
      <link rel="stylesheet" href="https://c.example/me.css"></head><body>
      <a rel="nofollow ME" href=" https://c.example/actors/berlin ">x</a>
      <a rel="mention" href="https://c.example/@other">y</a>
      <a rel="me">no href</a><area rel="me" href="https://c.example/area"></body></html>"""
    assert rel_me_links(page) == ["https://c.example/@berlin", "https://c.example/actors/berlin"]
    assert links_back(page, ["HTTPS://C.EXAMPLE/@BERLIN"])
    assert not links_back(page, ["https://c.example/@other"])
    assert not links_back("<p>broken <a rel='me' href=", ["https://c.example/@berlin"])


def test_the_actor_document_carries_the_profile_and_a_peer_reads_it_back() -> None:
    doc = LocalActorDocument(
        id="https://c.example/actors/berlin",
        type="Organization",
        handle="berlin",
        name="City of Berlin",
        summary_html="<p>Hi</p>",
        url="https://c.example/@berlin",
        inbox="https://c.example/actors/berlin/inbox",
        outbox="https://c.example/actors/berlin/outbox",
        followers="https://c.example/actors/berlin/followers",
        following=None,
        featured=None,
        shared_inbox="https://c.example/inbox",
        public_key=PublicKeyInfo(
            "https://c.example/actors/berlin#main-key", "https://c.example/actors/berlin", "PEM"
        ),
        published=utcnow(),
        icon=ImageRef("https://c.example/media/" + "a" * 64, "image/jpeg"),
        image=ImageRef("https://c.example/media/" + "b" * 64, "image/png"),
        fields=(Field("Website", "https://berlin.example"), Field("Phone", "+49")),
        updated=utcnow(),
    ).to_ap()
    assert doc["icon"] == {
        "type": "Image",
        "mediaType": "image/jpeg",
        "url": "https://c.example/media/" + "a" * 64,
    }
    assert [a["name"] for a in doc["attachment"]] == ["Website", "Phone"]
    assert all("verified_at" not in a for a in doc["attachment"])
    remote = RemoteActor.from_ap(doc)
    assert remote.icon_url == doc["icon"]["url"] and remote.header_url == doc["image"]["url"]
    assert remote.updated is not None


def test_remote_icons_in_the_shapes_servers_send() -> None:
    assert image_url("https://a.example/i.png") == "https://a.example/i.png"
    assert (
        image_url({"type": "Image", "url": "https://a.example/i.png"}) == "https://a.example/i.png"
    )
    link = {"type": "Link", "href": "https://a.example/i.png"}
    assert image_url([{"type": "Image", "url": [link]}]) == "https://a.example/i.png"
    assert image_url({"type": "Image", "url": "javascript:x"}) is None
    assert image_url(None) is None and image_url([]) is None
