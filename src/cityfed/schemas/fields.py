"""How a field is declared: a dataclass field whose metadata says what the field is.

``text(...)`` (and ``url``, ``licence``, ``lines``) make a dataclass field with a ``FieldSpec`` in
its metadata. A group of them is a plain ``kw_only`` dataclass (``ProjectFields`` ...) that the
vocabulary classes inherit; ``specs(group)`` lists the declarations in order, with their names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["text", "url", "licence", "lines"]
_SPEC = "cityfed.schema"
DEFAULT_LIMIT = 2000  # a text field without a declared limit
LICENCE_LIMIT = 100  # = actions.licences.MAX_LENGTH


@dataclass(frozen=True)
class FieldSpec:
    """One field: ``name`` is the attribute, API and form name; ``term`` its ActivityPub term."""

    term: str
    label: str
    kind: Kind = "text"
    limit: int = DEFAULT_LIMIT
    markdown: bool = False
    rows: int = 3  # the height of its textarea in the staff forms
    doc: str = ""  # what it means, for the API's documentation
    name: str = ""

    @property
    def term_name(self) -> str:
        """The term without its ``cf:`` prefix (``isBasedOn`` for ``cf:isBasedOn``)."""
        return self.term.partition(":")[2]


def N_(message: str) -> str:
    """Mark a label for the staff pages' message catalogue; it is translated where it is shown."""
    return message


def _declare(spec: FieldSpec) -> Any:
    if spec.kind == "lines":
        return dataclasses.field(default_factory=list, metadata={_SPEC: spec})
    return dataclasses.field(default=None, metadata={_SPEC: spec})


def text(
    term: str,
    label: str,
    doc: str,
    *,
    limit: int = DEFAULT_LIMIT,
    markdown: bool = False,
    rows: int = 3,
) -> Any:
    """An optional text (``str | None``); ``markdown`` texts are rendered on the pages."""
    return _declare(FieldSpec(term, label, "text", limit, markdown, rows, doc))


def url(term: str, label: str, doc: str) -> Any:
    """An optional http(s) URL."""
    return _declare(FieldSpec(term, label, "url", doc=doc))


def licence(term: str, label: str, doc: str) -> Any:
    """An optional SPDX licence expression (its length is checked with the SPDX rules)."""
    return _declare(FieldSpec(term, label, "licence", LICENCE_LIMIT, doc=doc))


def lines(term: str, label: str, doc: str) -> Any:
    """A list of short texts, one per line in a form (``list[str]``)."""
    return _declare(FieldSpec(term, label, "lines", doc=doc))


def specs(group: type) -> tuple[FieldSpec, ...]:
    """The declared fields of a group (or of a class inheriting groups), in declaration order."""
    return tuple(
        dataclasses.replace(f.metadata[_SPEC], name=f.name)
        for f in dataclasses.fields(group)
        if _SPEC in f.metadata
    )
