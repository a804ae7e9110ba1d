"""A project's or challenge's title and teaser in the staff page's language, where the city gave
a translation (``nameMap``/``summary`` maps); else as published, marked with its language."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shown:
    name: str
    teaser: str | None
    language: str | None  # the language of name and teaser; None when it is the page's own

    def lang_attr(self) -> str:
        return f' lang="{self.language}"' if self.language else ""


def _primary(tag: str | None) -> str:
    return (tag or "").split("-")[0].lower()


def _pick(mapping: dict[str, str], lang: str) -> tuple[str, str] | None:
    for tag, text in mapping.items():
        if _primary(tag) == lang and text:
            return tag, text
    return None


def shown(item: Any, lang: str) -> Shown:
    """``item`` (Project or Challenge) for a page in ``lang``."""
    own = item.language if _primary(item.language) != lang else None
    if own is None:
        return Shown(item.name, item.teaser, None)
    name = _pick(item.name_map, lang)
    teaser = _pick(item.teaser_map, lang)
    if name is None:
        return Shown(item.name, item.teaser, own)
    if teaser is None and item.teaser:
        # A translated title over an untranslated teaser would mislabel one of the two.
        return Shown(item.name, item.teaser, own)
    return Shown(name[1], teaser[1] if teaser else None, None)
