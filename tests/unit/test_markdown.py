"""The Markdown renderer: CommonMark out, nothing executable in, links marked as user content."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from cityfed.web.markdown import render_markdown, sanitize


def _elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


def test_commonmark_basics() -> None:
    html = render_markdown("Some **bold**, *em*, ~~gone~~ and `code`.\n\n- one\n- two\n\n> quoted")
    assert "<strong>bold</strong>" in html and "<em>em</em>" in html
    assert "<s>gone</s>" in html or "<del>gone</del>" in html
    assert "<code>code</code>" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html
    assert "<blockquote>" in html


def test_single_newlines_are_line_breaks() -> None:
    # City staff write in a textarea and expect their line breaks to stay.
    assert (
        render_markdown("Rathausmarkt 1\n20095 Hamburg")
        == "<p>Rathausmarkt 1<br>\n20095 Hamburg</p>"
    )


def test_headings_are_shifted_below_the_page_outline() -> None:
    html = render_markdown("# One\n## Two\n###### Six")
    assert "<h3>One</h3>" in html and "<h4>Two</h4>" in html and "<h6>Six</h6>" in html
    assert "<h1" not in html and "<h2" not in html
    assert render_markdown("# One", heading_offset=3) == "<h4>One</h4>"


def test_links_get_rel_nofollow_noopener() -> None:
    html = render_markdown("[site](https://example.org/a?b=1&c=2) <https://example.org/x>")
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener">site</a>' in html
    assert '<a href="https://example.org/x" rel="nofollow noopener">' in html
    assert 'href="mailto:a@example.org"' in render_markdown("[mail](mailto:a@example.org)")


def test_tables_without_inline_styles() -> None:
    html = render_markdown("| a | b |\n|--:|---|\n| 1 | 2 |")
    assert "<table>" in html and "<td>1</td>" in html
    assert "style" not in html  # the CSP forbids inline styles; alignment is not worth one


def test_images_become_links_labelled_with_their_alt_text() -> None:
    html = render_markdown("![Map of *Altona*](https://tiles.example/altona.png)")
    link = '<a href="https://tiles.example/altona.png" rel="nofollow noopener">Map of Altona</a>'
    assert html == f"<p>{link}</p>"
    assert "<img" not in render_markdown("![](https://tiles.example/x.png)")


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](data:image/png;base64,AAAA)",
        "![x](javascript:alert(1))",
        "<iframe src=https://evil.example></iframe>",
        '<div style="position:fixed">x</div>',
        '[x](https://ok.example "title\\" onmouseover=\\"alert(1)")',
        "<!-- <script>alert(1)</script> -->",
    ],
)
def test_nothing_executable_survives(source: str) -> None:
    # Text may show the source (escaped); what matters is which elements and attributes exist.
    elements = _elements(render_markdown(source))
    for tag, attrs in elements:
        assert tag in {"p", "a", "br"}, (tag, source)
        assert set(attrs) <= {"href", "title", "rel"}, (attrs, source)
        href = (attrs.get("href") or "https:").lower()
        assert href.startswith(("https:", "http:")), (href, source)


def test_sanitize_is_a_second_layer_on_its_own() -> None:
    dirty = (
        '<h1>big</h1><p onclick="x()">p</p><a href="javascript:x" rel="opener">a</a>'
        '<a href="https://ok.example" target="_blank">b</a><script>x</script><img src=x>'
    )
    assert sanitize(dirty) == (
        'big<p>p</p><a rel="nofollow noopener">a</a>'
        '<a href="https://ok.example" rel="nofollow noopener">b</a>'
    )


@pytest.mark.parametrize("empty", [None, "", "   \n"])
def test_empty_input_renders_nothing(empty: str | None) -> None:
    assert render_markdown(empty) == ""


def test_deep_nesting_is_bounded() -> None:
    # markdown-it stops nesting at 20 levels, so hostile input cannot blow the stack.
    html = render_markdown(">" * 5000 + " deep")
    assert html.count("<blockquote>") <= 20
