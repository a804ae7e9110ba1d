"""The staff pages in English and German: message catalogs, language choice, error texts.

Messages are written in English in templates and code (``_("Sign in")``); ``locales/de.json``
maps them to German and ``locales/en.json`` lists every message (the source catalog translators
work from; ``extract()`` rebuilds it). The language is, in order: ``?lang=`` (the switch, which
also sets a cookie), the cookie, the browser's Accept-Language, English. Catalogs are read from
the package (no network at run time) once per process.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "de")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
LOCALES = Path(__file__).resolve().parent.parent / "locales"
# ``_(text)`` translates; ``N_(text)`` only marks a message translated later (constants).
_MSGID = re.compile(r"""(?<![\w.])N?_\(\s*(?P<q>["'])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)""", re.S)
# Problems reported by actions/ carry numbers; translated by pattern, the number kept.
_PATTERNS = (
    (re.compile(r"^at most (\d+) characters$"), "at most {0} characters"),
    (re.compile(r"^at least (\d+) characters$"), "at least {0} characters"),
    (
        re.compile(r"^(.+) is not on the SPDX licence list \(such as EUPL-1\.2 or MIT\)$"),
        "{0} is not on the SPDX licence list (such as EUPL-1.2 or MIT)",
    ),
)


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    if lang not in LANGUAGES:
        return {}
    data = json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return {key: value for key, value in data.items() if not key.startswith("@")}


class Translator:
    """Translates messages (with ``{placeholders}`` filled in) into one language; unknown
    messages stay English."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._messages = catalog(self.lang)

    def __call__(self, message: str, **values: Any) -> str:
        text = self._messages.get(message) or message
        return text.format(**values) if values else text

    def has(self, message: str) -> bool:
        return self.lang == DEFAULT or message in self._messages

    def problem(self, text: str) -> tuple[str, str | None]:
        """An action's message (``"this field is required"``) in this language, and the
        ``lang`` to mark it with when it could only be shown in English (else None)."""
        if self.has(text):
            return self(text), None
        for pattern, template in _PATTERNS:
            found = pattern.match(text)
            if found and self.has(template):
                return self(template).format(*found.groups()), None
        return text, DEFAULT


def _quality(part: str) -> tuple[str, float]:
    tag, _, params = part.strip().partition(";")
    q = 1.0
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return tag.strip().lower(), q


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages for an Accept-Language header (``de-AT`` counts as ``de``)."""
    best, best_q = None, 0.0
    for part in (header or "").split(","):
        if not part.strip():
            continue
        tag, q = _quality(part)
        primary = tag.split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def N_(message: str) -> str:
    """Mark a message for the catalog where it is defined; it is translated where shown."""
    return message


def choose(query: str | None, cookie: str | None, accept: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept) or DEFAULT


def extract(paths: Iterable[Path]) -> list[str]:
    """Every message marked with ``_(`` or ``N_(`` in these files, sorted (for ``en.json``)."""
    found: set[str] = set()
    for path in paths:
        for match in _MSGID.finditer(path.read_text(encoding="utf-8")):
            text = match.group("text")
            # Python and Jinja string escapes used in our messages: quotes only.
            found.add(text.replace("\\'", "'").replace('\\"', '"'))
    return sorted(found)


def sources() -> list[Path]:
    """The files messages are extracted from: staff templates, the staff package, and the field
    labels the schemas declare (the forms show them)."""
    web = Path(__file__).resolve().parent.parent
    templates = web.joinpath("templates", "staff").glob("*.html")
    schemas = web.parent / "schemas" / "objects.py"
    return sorted([*templates, *web.joinpath("staff").glob("*.py"), schemas])
