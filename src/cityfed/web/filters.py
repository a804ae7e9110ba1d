"""Small helpers shared by templates (as Jinja filters) and view code: names, dates, safe links.

Imports nothing of ours but ``activitypub.links`` (which imports nothing), so the template
environment can load it without import cycles.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from markupsafe import Markup

from cityfed.activitypub.links import is_safe_link

# How a page names the two kinds of city object (``kind_of`` a row).
KIND_LABELS = {"project": "Project", "challenge": "Challenge"}

# The UN's short names of the 17 Sustainable Development Goals (https://sdgs.un.org/goals).
SDG_NAMES = {
    1: "No Poverty",
    2: "Zero Hunger",
    3: "Good Health and Well-being",
    4: "Quality Education",
    5: "Gender Equality",
    6: "Clean Water and Sanitation",
    7: "Affordable and Clean Energy",
    8: "Decent Work and Economic Growth",
    9: "Industry, Innovation and Infrastructure",
    10: "Reduced Inequalities",
    11: "Sustainable Cities and Communities",
    12: "Responsible Consumption and Production",
    13: "Climate Action",
    14: "Life Below Water",
    15: "Life on Land",
    16: "Peace, Justice and Strong Institutions",
    17: "Partnerships for the Goals",
}

# Each language named in itself (a translation section is headed in its own language, so its
# whole content, heading included, carries one correct ``lang``). Unknown tags show as the tag.
LANGUAGE_NAMES = {
    "ar": "العربية", "bg": "български", "ca": "català", "cs": "čeština", "cy": "Cymraeg",
    "da": "dansk", "de": "Deutsch", "el": "Ελληνικά", "en": "English", "eo": "Esperanto",
    "es": "español", "et": "eesti", "eu": "euskara", "fa": "فارسی", "fi": "suomi",
    "fr": "français", "fy": "Frysk", "ga": "Gaeilge", "gl": "galego", "he": "עברית",
    "hr": "hrvatski", "hu": "magyar", "is": "íslenska", "it": "italiano", "ja": "日本語",
    "ko": "한국어", "lb": "Lëtzebuergesch", "lt": "lietuvių", "lv": "latviešu", "mt": "Malti",
    "nb": "norsk bokmål", "nl": "Nederlands", "nn": "norsk nynorsk", "no": "norsk",
    "pl": "polski", "pt": "português", "ro": "română", "ru": "русский", "sk": "slovenčina",
    "sl": "slovenščina", "sq": "shqip", "sr": "српски", "sv": "svenska", "tr": "Türkçe",
    "uk": "українська", "zh": "中文",
}  # fmt: skip

UI_LANGUAGE = "en"


def language_name(tag: str) -> str:
    return LANGUAGE_NAMES.get(tag.split("-")[0].lower(), tag)


def sdg_url(goal: int) -> str:
    return f"https://sdgs.un.org/goals/goal{goal}"


def ui_attr(lang: str | None) -> Markup:
    """` lang="en"` on interface text (labels, navigation) when the page is in another language,
    so a screen reader does not read English labels with, say, a German voice."""
    if not lang or lang.split("-")[0].lower() == UI_LANGUAGE:
        return Markup("")
    return Markup(f' lang="{UI_LANGUAGE}"')


def web_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL, else None: data from peers could carry
    ``javascript:`` and escaping alone does not make such an ``href`` safe."""
    return url if url and is_safe_link(url) else None


def safe_url(url: str | None) -> str:
    """The one way a template writes a link that may come from a peer (``href``, ``src``):
    an absolute http(s) URL or a path on this site as is, anything else as ``#``.

    Links are checked when documents arrive (activitypub/links.py); this also covers rows
    stored before that check, and whatever a future field forgets.
    """
    if not url:
        return "#"
    if is_safe_link(url):
        return url
    if (
        url.startswith(("/", "?", "#"))
        and not url.startswith("//")
        and is_safe_link("https://x" + url)
    ):
        return url
    return "#"


def tag_path(tag: str) -> str:
    return f"/tags/{quote(tag, safe='')}"


def iso_date(value: datetime | None) -> str:
    return value.date().isoformat() if value else ""


def iso_datetime(value: datetime | None) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""
