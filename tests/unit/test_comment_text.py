"""Plain text of a comment as HTML: paragraphs, escaping, and hashtags linked as Mastodon does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cityfed.activitypub.sanitize import hashtags_in, html_to_text, text_to_html


def tags(name: str) -> str:
    return f"https://city.example/tags/{name}"


def test_hashtags_are_found_once_in_order_and_not_inside_words_paths_or_numbers() -> None:
    text = "#Heat and #klima, again #heat! a#b https://x.example/p#frag #2024 #x_1 #Straße"
    assert hashtags_in(text) == ["Heat", "klima", "heat", "x_1", "Straße"]


def test_hashtags_are_linked_like_mastodon_links_them() -> None:
    html = text_to_html("It's #heat season.\n\nSee #klima_2030", tag_url=tags)
    assert html == (
        "<p>It&#x27;s "
        '<a href="https://city.example/tags/heat" class="mention hashtag" rel="tag">'
        "#<span>heat</span></a> season.</p>"
        '<p>See <a href="https://city.example/tags/klima_2030" class="mention hashtag" '
        'rel="tag">#<span>klima_2030</span></a></p>'
    )
    # Without tag_url the text is only escaped.
    assert text_to_html("#heat <b>") == "<p>#heat &lt;b&gt;</p>"


@given(st.text(max_size=200))
def test_linking_never_changes_the_readable_text(text: str) -> None:
    plain = html_to_text(text_to_html(text))
    assert html_to_text(text_to_html(text, tag_url=tags)) == plain
