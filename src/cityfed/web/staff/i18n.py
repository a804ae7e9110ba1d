"""The staff pages in English and German: gettext catalogues, language choice, refusals.

Messages are written in English in templates and code (``_("Sign in")``, ``N_`` for constants
translated where shown). Babel extracts them (``extract``: Python with ``_``/``N_``, templates
through Jinja's ``jinja2.ext.i18n`` extractor) into ``locales/messages.pot``; each language has a
gettext catalogue ``locales/<lang>/LC_MESSAGES/messages.po`` (English only for the messages it
rewords). The templates get ``_``, ``gettext`` and ``ngettext`` of the request's language (the
environment has ``jinja2.ext.i18n``, so ``{% trans %}`` works too); placeholders are
``{name}``, filled with ``str.format`` after translation.

``python -m cityfed.web.staff.i18n`` extracts the messages again and merges them into each
``.po`` (new ones untranslated, gone ones dropped); test_staff_i18n checks that none is missing.

The ``.po`` files are compiled in memory the first time a language is used (Babel's ``read_po``
and ``write_mo``, a few milliseconds once per process): no ``.mo`` in the repository to go stale,
and no build step, so a fresh ``pip install`` runs as it is.

An action's refusal (``actions.errors.ActionError``) is translated by its message template and
then filled with its parameters (``Translator.problem``): no English text is parsed.

The language is, in order: ``?lang=`` (the switch, which also sets a cookie), the cookie, the
browser's Accept-Language, English. Catalogues are read from the package (no network at run
time) once per process.
"""

from __future__ import annotations

import functools
import gettext
import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from cityfed.actions.errors import ActionError

LANGUAGES = ("en", "de")
DEFAULT = "en"
LANGUAGE_NAMES = {"en": "English", "de": "Deutsch"}
LOCALES = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
TEMPLATE = LOCALES / f"{DOMAIN}.pot"
# ``Problem("code", "message")`` declares an action's refusal (actions/errors.py).
# What a page shows as a problem: a message of ours (already a msgid) or an action's refusal.
Shown = str | ActionError

KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2), "Problem": (2,)}


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _catalog(lang: str) -> Catalog | None:
    path = po_path(lang)
    if lang not in LANGUAGES or not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=lang, domain=DOMAIN)


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The gettext translations of ``lang``, compiled from its ``.po`` once per process."""
    found = _catalog(lang)
    if found is None:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, found)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@functools.cache
def catalog(lang: str) -> Mapping[str, str]:
    """The messages ``lang`` translates (msgid -> msgstr; untranslated ones left out)."""
    found = _catalog(lang)
    if found is None:
        return {}
    return {
        str(message.id): str(message.string)
        for message in found
        if message.id and isinstance(message.id, str) and message.string
    }


class Translator:
    """Translates messages (with ``{placeholders}`` filled in) into one language; unknown
    messages stay English."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT
        self._translations = translations(self.lang)
        self._messages = catalog(self.lang)

    def gettext(self, message: str) -> str:
        return self._translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self._translations.ngettext(singular, plural, n)

    def __call__(self, message: str, **values: Any) -> str:
        text = self._translations.gettext(message)
        return text.format(**values) if values else text

    def has(self, message: str) -> bool:
        return self.lang == DEFAULT or message in self._messages

    def problem(self, problem: ActionError | str) -> tuple[str, str | None]:
        """An action's refusal (or a message) in this language, and the ``lang`` to mark it
        with when it could only be shown in English (else None)."""
        if isinstance(problem, ActionError):
            if self.has(problem.template):
                return self(problem.template, **problem.params), None
            return problem.problem, DEFAULT
        if self.has(problem):
            return self(problem), None
        return problem, DEFAULT


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
    """Mark a message for the catalogue where it is defined; it is translated where shown."""
    return message


def choose(query: str | None, cookie: str | None, accept: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGUAGES:
            return candidate
    return from_accept_language(accept) or DEFAULT


def extract(paths: Iterable[Path]) -> list[str]:
    """Every message marked with ``_``/``N_`` in these files, sorted: Babel's extractors (its
    own for Python, Jinja's for templates)."""
    found: set[str] = set()
    for path in paths:
        method = "jinja2.ext:babel_extract" if path.suffix == ".html" else "python"
        options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true"}
        for _lineno, message, _comments, _context in extract_from_file(
            method, str(path), keywords=KEYWORDS, options=options if method != "python" else None
        ):
            found.add(message if isinstance(message, str) else message[0])
    return sorted(found)


def sources() -> list[Path]:
    """The files messages are extracted from: staff templates, the staff package, the field
    labels the schemas declare (the forms show them), and the actions' refusals
    (``actions/errors.py`` and every ``Problem`` declared in actions/)."""
    web = Path(__file__).resolve().parent.parent
    templates = web.joinpath("templates", "staff").glob("*.html")
    actions = web.parent.joinpath("actions").glob("*.py")
    schemas = web.parent / "schemas" / "objects.py"
    return sorted([*templates, *web.joinpath("staff").glob("*.py"), *actions, schemas])


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(
            handle, catalog, width=100, no_location=True, sort_output=True, ignore_obsolete=True
        )


def update_catalogues() -> None:
    """Extract every message into ``messages.pot`` and merge it into each language's ``.po``."""
    template = Catalog(project="cityfed", domain=DOMAIN, copyright_holder="cityfed")
    for message in extract(sources()):
        template.add(message)
    _write(template, TEMPLATE)
    for lang in LANGUAGES:
        path = po_path(lang)
        with path.open("rb") as handle:
            current = read_po(handle, locale=lang, domain=DOMAIN)
        current.update(template, no_fuzzy_matching=True)
        _write(current, path)


if __name__ == "__main__":
    update_catalogues()
