"""Markdown (a project's description, outcomes, requirements...) to HTML that is safe to embed.

Two independent layers, so one mistake is not enough for an injection:

1. markdown-it-py (CommonMark + tables + strikethrough) with raw HTML **disabled**: ``<script>`` in
   the source comes out as text, and its link validator already refuses ``javascript:``,
   ``vbscript:``, ``file:`` and most ``data:`` URLs.
2. nh3 (ammonia) with a small allow-list of tags and attributes, http(s)/mailto links only and
   ``rel="nofollow noopener"`` on every link (the text is user content; we vouch for no link).

Two deliberate changes to plain Markdown output:

- Headings are shifted down (``#`` becomes ``<h3>`` under the page's ``<h2>Description``) so a
  description can never add a second ``<h1>`` or break the page's heading outline.
- Images become links labelled with their alt text: our pages load nothing from third parties
  (no tracking of visitors by whoever hosts an image, which matters to a city), and the alt
  text stays readable.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

LINK_REL = "nofollow noopener"

_TAGS = frozenset(
    {
        "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
# No style (the CSP forbids inline styles anyway), no class, no id: nothing a text could use to
# imitate or target our own markup.
_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"scope"}}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def _shift_headings(offset: int) -> Any:
    def rule(state: StateCore) -> None:
        for token in state.tokens:
            if token.type in ("heading_open", "heading_close"):
                level = int(token.tag[1:]) + offset
                token.tag = f"h{min(level, 6)}"

    return rule


def _image_as_link(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = str(token.attrGet("src") or "")
    return f'<a href="{escapeHtml(src)}">{escapeHtml(alt)}</a>'


@functools.cache
def _parser(heading_offset: int) -> MarkdownIt:
    # Built once per offset on first use (not at import): parsing keeps its state in the
    # per-call ``env``, so one configured instance serves every request.
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False})
    md.enable(["table", "strikethrough"])
    if heading_offset:
        md.core.ruler.push("shift_headings", _shift_headings(heading_offset))
    md.add_render_rule("image", _image_as_link)
    return md


@functools.cache
def _cleaner() -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def sanitize(html: str) -> str:
    """``html`` reduced to the allow-list above (the second layer; also usable on its own)."""
    return _cleaner().clean(html)


def render_markdown(text: str | None, *, heading_offset: int = 2) -> str:
    """Safe HTML for Markdown ``text`` ("" for nothing). The caller marks it safe for Jinja."""
    if not text or not text.strip():
        return ""
    return sanitize(_parser(heading_offset).render(text)).strip()
